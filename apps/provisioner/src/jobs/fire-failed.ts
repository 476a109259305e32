import type { JobPayload } from "@berth/core";
import { objects, recordEvent, withTenant } from "@berth/db";
import { and, eq } from "drizzle-orm";
import type { Deps } from "../deps";

/**
 * A CronJob's fire failed for good (every attempt, or a permanent error): the CronJob says so in a
 * Warning event (`FailedCreate`, as Kubernetes words a Job it could not create). The next schedule
 * time fires as usual.
 */
export async function reportCronJobFireFailed(
  deps: Deps,
  p: JobPayload<"cronjob.fire">,
  message: string,
): Promise<void> {
  await withTenant(deps.db, p.tenantId, async (tx) => {
    const [cj] = await tx
      .select({ namespace: objects.namespace, name: objects.name })
      .from(objects)
      .where(and(eq(objects.id, p.cronJobId), eq(objects.kind, "CronJob")));
    if (!cj) return;
    await recordEvent(tx, {
      tenantId: p.tenantId,
      clusterId: p.clusterId,
      objectKind: "CronJob",
      objectName: `${cj.namespace}/${cj.name}`,
      type: "Warning",
      reason: "FailedCreate",
      message: `Error creating job: ${message}`,
    });
  });
}
