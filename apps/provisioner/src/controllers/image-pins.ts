import { type ImageReference, parseImageReference } from "@berth/core";
import {
  type DeploymentRow,
  deploymentRevisions,
  deployments,
  type ImagePins,
  type PodTemplate,
  recordEvent,
  withTenant,
} from "@berth/db";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Deps } from "../deps";
import { failureMessage } from "../failures";

/**
 * Pinning, once per rollout: before a Deployment's template gets its revision (ReplicaSet), each of
 * its images of Berth's registry named by tag is resolved to `<host>/<repository>@sha256:…`, and
 * the revision keeps those digests, so that every pod of it (scale-ups, replacements, a rollback to
 * it) runs the same image even when the tag moves. The registry is asked here, before and outside
 * the control loop's transaction: what it answered is recorded on the deployment
 * (`image_pins`, for the template hash it was asked for), and the loop makes the revision from
 * that record, or waits one pass for it (syncRevisions).
 *
 * A tag that cannot be resolved (absent, the registry down) is said as a Warning event
 * (`FailedToResolveImage`) and the revision is made with the tag: its pods then pull the tag and
 * show ErrImagePull as Kubernetes' would; the registry is never a dependency of the control loop.
 */

/** The images of Berth's registry (`host`) the template names by tag, once each. */
export function tagsToPin(template: Pick<PodTemplate, "containers" | "initContainers">, host: string) {
  const out = new Map<string, ImageReference>();
  for (const c of [...(template.initContainers ?? []), ...template.containers]) {
    let ref: ImageReference;
    try {
      ref = parseImageReference(c.image);
    } catch {
      continue; // admission stores only valid references; one that is not is run as written
    }
    if (ref.domain === host && ref.digest === null) out.set(c.image, ref);
  }
  return out;
}

/** The template with its pinned images (image as written → pinned reference) put in. */
export function pinTemplate(template: PodTemplate, images: Readonly<Record<string, string>>): PodTemplate {
  if (Object.keys(images).length === 0) return template;
  const pin = <C extends { image: string }>(c: C): C => {
    const pinned = images[c.image];
    return pinned ? { ...c, image: pinned } : c;
  };
  return {
    ...template,
    containers: template.containers.map(pin),
    ...(template.initContainers ? { initContainers: template.initContainers.map(pin) } : {}),
  };
}

/** The pins recorded for the deployment's current template, if any. */
export function currentPins(d: Pick<DeploymentRow, "imagePins" | "templateHash">): ImagePins | null {
  return d.imagePins?.hash === d.templateHash ? d.imagePins : null;
}

/** How many resolutions run at once in one pass. */
const CONCURRENCY = 8;

interface Wanted {
  d: Pick<DeploymentRow, "id" | "namespace" | "name" | "templateHash">;
  tags: Map<string, ImageReference>;
}

/**
 * Resolves the tags of every deployment of the cluster whose current template has no revision and
 * no pins yet, and records the pins. Idempotent: a crash before the record resolves again; a pin
 * is written only for the template hash it was resolved for, and only once.
 */
export async function pinDeploymentImages(
  deps: Deps,
  p: { tenantId: string; clusterId: string },
): Promise<{ pinned: number; failed: number }> {
  const registry = deps.imageResolver;
  if (!registry) return { pinned: 0, failed: 0 };
  const rows = await withTenant(deps.db, p.tenantId, (tx) =>
    tx
      .select({
        id: deployments.id,
        namespace: deployments.namespace,
        name: deployments.name,
        templateHash: deployments.templateHash,
        template: deployments.template,
      })
      .from(deployments)
      .where(
        and(
          eq(deployments.clusterId, p.clusterId),
          isNull(deployments.deletedAt),
          sql`coalesce((${deployments.spec} ->> 'paused')::boolean, false) = false`,
          sql`(${deployments.imagePins} ->> 'hash') is distinct from ${deployments.templateHash}`,
          sql`not exists (select 1 from ${deploymentRevisions} r where r.deployment_id = ${deployments.id} and r.template_hash = ${deployments.templateHash})`,
        ),
      ),
  );
  const wanted: Wanted[] = rows
    .map((d) => ({ d, tags: tagsToPin(d.template, registry.host) }))
    .filter((w) => w.tags.size > 0);
  if (wanted.length === 0) return { pinned: 0, failed: 0 };

  const jobs = wanted.flatMap((w) => [...w.tags].map(([image, ref]) => ({ w, image, ref })));
  const started = Date.now();
  const answers: ((typeof jobs)[number] & { pinned: string | null; error: string | null })[] = [];
  for (let i = 0; i < jobs.length; i += CONCURRENCY)
    answers.push(
      ...(await Promise.all(
        jobs.slice(i, i + CONCURRENCY).map(async (j) => {
          try {
            return { ...j, pinned: await registry.resolve(j.ref), error: null };
          } catch (error) {
            return { ...j, pinned: null, error: failureMessage(error, 300) };
          }
        }),
      )),
    );
  const ms = Date.now() - started;
  deps.crashpoint("pins.resolved");

  let pinned = 0;
  let failed = 0;
  await withTenant(deps.db, p.tenantId, async (tx) => {
    for (const w of wanted) {
      const mine = answers.filter((a) => a.w === w);
      const pins: ImagePins = { hash: w.d.templateHash, images: {}, failed: [] };
      for (const a of mine) {
        if (a.pinned) pins.images[a.image] = a.pinned;
        else pins.failed.push(a.image);
      }
      const [written] = await tx
        .update(deployments)
        .set({ imagePins: pins })
        .where(
          and(
            eq(deployments.id, w.d.id),
            eq(deployments.templateHash, w.d.templateHash),
            sql`(${deployments.imagePins} ->> 'hash') is distinct from ${w.d.templateHash}`,
          ),
        )
        .returning({ id: deployments.id });
      if (!written) continue;
      pinned += Object.keys(pins.images).length;
      failed += pins.failed.length;
      for (const a of mine)
        if (a.error !== null)
          await recordEvent(tx, {
            tenantId: p.tenantId,
            clusterId: p.clusterId,
            objectKind: "Deployment",
            objectName: `${w.d.namespace}/${w.d.name}`,
            type: "Warning",
            reason: "FailedToResolveImage",
            message: `could not resolve ${a.image} to a digest (${a.error}); the new revision uses the tag`,
          });
    }
    deps.crashpoint("pins.before-commit");
  });
  deps.crashpoint("pins.recorded");
  deps.logger.info(
    { clusterId: p.clusterId, deployments: wanted.length, images: jobs.length, pinned, failed, ms },
    "resolved image tags of new revisions",
  );
  return { pinned, failed };
}
