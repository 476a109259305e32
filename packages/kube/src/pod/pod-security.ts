import { BerthError } from "@berth/core";
import type { ContainerSecurity } from "@berth/protocol";
import type { ContainerInput } from "./container";
import type { PodSecurityInput } from "./security-context";

/**
 * Kubernetes' Pod Security Standards, "restricted" profile — the level every namespace of every
 * tenant enforces. A pod that breaks a rule is refused (403, as Kubernetes' admission does) with
 * the field and the rule. What the profile leaves open is defaulted to its safe side: containers
 * run as non-root (the pod's user, else the image's if it is not root, else 65534), drop every capability,
 * cannot escalate privileges, and run under the runtime's default seccomp profile.
 */
export const DEFAULT_NON_ROOT_USER = 65534;
const ALLOWED_ADDED_CAPABILITIES = new Set(["NET_BIND_SERVICE"]);

function refuse(path: string, rule: string): never {
  const message = `${rule} (Pod Security "restricted")`;
  throw new BerthError("FORBIDDEN", `${path}: ${message}`, { details: { issues: [{ path, message }] } });
}

function checkSeccomp(type: string | undefined, path: string): void {
  if (type === "Unconfined") refuse(`${path}.seccompProfile.type`, "seccompProfile must be RuntimeDefault");
  if (type === "Localhost")
    refuse(`${path}.seccompProfile.type`, "Localhost seccomp profiles are not available; use RuntimeDefault");
}

/** Checks the pod-level `securityContext`; returns what the containers inherit. */
export function admitPodSecurity(
  s: PodSecurityInput | undefined,
  path: string,
): { runAsUser?: number; runAsGroup?: number; runAsNonRoot?: boolean; fsGroup?: number } {
  if (!s) return {};
  if (s.runAsUser === 0) refuse(`${path}.runAsUser`, "runAsUser must not be 0 (root)");
  if (s.runAsNonRoot === false) refuse(`${path}.runAsNonRoot`, "runAsNonRoot must not be false");
  if (s.sysctls && s.sysctls.length > 0) refuse(`${path}.sysctls`, "sysctls are not allowed");
  if (s.seLinuxOptions) refuse(`${path}.seLinuxOptions`, "seLinuxOptions are not allowed");
  if (s.appArmorProfile && s.appArmorProfile.type !== "RuntimeDefault")
    refuse(`${path}.appArmorProfile.type`, "appArmorProfile must be RuntimeDefault");
  checkSeccomp(s.seccompProfile?.type, path);
  return {
    ...(s.runAsUser !== undefined ? { runAsUser: s.runAsUser } : {}),
    ...(s.runAsGroup !== undefined ? { runAsGroup: s.runAsGroup } : {}),
    ...(s.runAsNonRoot !== undefined ? { runAsNonRoot: s.runAsNonRoot } : {}),
    ...(s.fsGroup !== undefined ? { fsGroup: s.fsGroup } : {}),
  };
}

/** Checks one container's `securityContext` and returns what the node applies. */
export function admitContainerSecurity(
  c: ContainerInput,
  pod: ReturnType<typeof admitPodSecurity>,
  path: string,
): ContainerSecurity {
  const s = c.securityContext ?? {};
  const at = `${path}.securityContext`;
  if (s.privileged === true) refuse(`${at}.privileged`, "privileged containers are not allowed");
  if (s.allowPrivilegeEscalation === true)
    refuse(`${at}.allowPrivilegeEscalation`, "allowPrivilegeEscalation must be false");
  if (s.runAsUser === 0) refuse(`${at}.runAsUser`, "runAsUser must not be 0 (root)");
  if (s.runAsNonRoot === false) refuse(`${at}.runAsNonRoot`, "runAsNonRoot must not be false");
  if (s.procMount === "Unmasked") refuse(`${at}.procMount`, "procMount must be Default");
  if (s.seLinuxOptions) refuse(`${at}.seLinuxOptions`, "seLinuxOptions are not allowed");
  if (s.appArmorProfile && s.appArmorProfile.type !== "RuntimeDefault")
    refuse(`${at}.appArmorProfile.type`, "appArmorProfile must be RuntimeDefault");
  checkSeccomp(s.seccompProfile?.type, at);
  const add = s.capabilities?.add ?? [];
  add.forEach((cap, i) => {
    const name = cap.toUpperCase().replace(/^CAP_/, "");
    if (!ALLOWED_ADDED_CAPABILITIES.has(name))
      refuse(`${at}.capabilities.add[${i}]`, `only NET_BIND_SERVICE may be added, not ${cap}`);
  });
  // Unset, the node runs the image's own user if it is not root, else DEFAULT_NON_ROOT_USER.
  const runAsUser = s.runAsUser ?? pod.runAsUser;
  const runAsGroup = s.runAsGroup ?? pod.runAsGroup;
  return {
    ...(runAsUser !== undefined ? { runAsUser } : {}),
    ...(runAsGroup !== undefined ? { runAsGroup } : {}),
    runAsNonRoot: true,
    readOnlyRootFilesystem: s.readOnlyRootFilesystem ?? false,
    capabilitiesAdd: add.length > 0 ? ["NET_BIND_SERVICE"] : [],
    ...(pod.fsGroup !== undefined ? { fsGroup: pod.fsGroup } : {}),
  };
}
