import { createHash } from "node:crypto";
import type { PodTemplate } from "@berth/db";

export { DNS_LABEL } from "@berth/protocol";

/** The hash naming a pod template (its ReplicaSet): the template alone, not how it is rolled out. */
export function templateHashOf(template: PodTemplate): string {
  return createHash("sha256")
    .update(JSON.stringify({ ...template, rollout: null }))
    .digest("hex")
    .slice(0, 10);
}
