import { ValidationError } from "@berth/core";
import { kindOf, type normaliseDeployment, parseManifest } from "../src/index";

/** A Deployment `web` as users write it, its pod spec `podSpec` over one nginx container. */
export function deployment(podSpec: Record<string, unknown>) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web" },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "app", image: "nginx:1.27" }], ...podSpec },
      },
    },
  };
}

/** The Deployment admitted as the API admits it (parsed, then normalised). */
export function admit(podSpec: Record<string, unknown>) {
  const doc = deployment(podSpec);
  const kind = kindOf(doc.apiVersion, doc.kind);
  if (!kind) throw new Error("no Deployment kind");
  return kind.normalise(parseManifest(kind.schema, doc), "web") as ReturnType<typeof normaliseDeployment>;
}

/** The first issue of the ValidationError admitting it throws (fails if it is admitted). */
export function refusal(podSpec: Record<string, unknown>): { path: string; message: string } {
  return firstIssue(() => admit(podSpec));
}

/** The first issue of the ValidationError `admitting` throws (fails if it throws none). */
export function firstIssue(admitting: () => unknown): { path: string; message: string } {
  try {
    admitting();
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    const first = (e.details as { issues: { path: string; message: string }[] }).issues[0];
    if (!first) throw new Error("no issue");
    return first;
  }
  throw new Error("admitted");
}
