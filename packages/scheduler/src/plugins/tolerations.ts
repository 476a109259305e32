import type { Taint, Toleration } from "../types";

/** Kubernetes' ToleratesTaint: effect (empty matches all), key (empty matches all), then operator. */
export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== taint.key) return false;
  switch (toleration.operator ?? "Equal") {
    case "Exists":
      return true;
    case "Equal":
      return (toleration.value ?? "") === (taint.value ?? "");
    default:
      return false;
  }
}

export function isTolerated(tolerations: readonly Toleration[], taint: Taint): boolean {
  for (const toleration of tolerations) if (tolerates(toleration, taint)) return true;
  return false;
}
