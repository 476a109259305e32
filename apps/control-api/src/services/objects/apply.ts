import { BerthError, ConflictError, QuotaExceededError } from "@berth/core";
import { deployments, isOperational, objects, recordEvent, type Tx, withTenant } from "@berth/db";
import { type IngressSpec, KINDS, type KindName } from "@berth/kube";
import { and, eq, isNull, sql } from "drizzle-orm";
import { authorize } from "../../auth/authorize";
import type { Deps, UserCaller } from "../../deps";
import type { RequestMeta } from "../../operation";
import { loadCluster } from "../clusters";
import { allowedImagePrefixesOf, checkImagesAllowed } from "../image-policy";
import { kick } from "../kick";
import { claimIngressHosts, DEFAULT_APPS_DOMAIN, releaseIngressHosts } from "../network/ingress-hosts";
import { admitDocument, type Planned } from "./admission";
import type { Identified } from "./identify";
import { objectBrn } from "./names";
import type { ObjectView } from "./render";
import { loadCurrent, renderStored, writeObject } from "./store";
import { AdmissionWorld } from "./world";

export const MAX_DEPLOYMENTS_PER_CLUSTER = 500;
/** Objects of the other kinds in one cluster (all kinds together). */
export const MAX_OBJECTS_PER_CLUSTER = 5_000;

export interface ApplyResult {
  kind: KindName;
  namespace: string;
  name: string;
  action: "created" | "configured" | "unchanged";
  changedPaths: string[];
  /** The object as stored after the write (dry runs: undefined). */
  view?: ObjectView;
}

/** Thrown to roll a dry run back once everything but the commit has been done. */
class DryRun extends Error {
  constructor(readonly results: ApplyResult[]) {
    super("dry run");
  }
}

/** Serialises writes of one cluster's workloads: quotas, namespace existence and counts cannot race. */
export async function lockWorkloads(tx: Tx, clusterId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`deployments:${clusterId}`}))`);
}

/** Each object is authorised on its own resource name (`<kind>:Apply`); the caller needs every one. */
export async function authorizeEach(
  deps: Deps,
  caller: UserCaller,
  clusterId: string,
  docs: Identified[],
  meta: RequestMeta,
) {
  for (const d of docs)
    await authorize(
      deps,
      caller,
      `${KINDS[d.kind].iamPrefix}:Apply`,
      objectBrn(caller.tenantId, clusterId, d.kind, d.namespace, d.name),
      meta,
    ).catch((error: unknown) => {
      if (error instanceof BerthError)
        throw new BerthError(error.code, `${d.prefix ? `${d.prefix}: ` : ""}${error.message}`);
      throw error;
    });
}

async function checkCounts(tx: Tx, clusterId: string, planned: Planned[]): Promise<void> {
  const newDeployments = planned.filter((p) => p.kind === "Deployment" && !p.current).length;
  const newObjects = planned.filter((p) => p.kind !== "Deployment" && !p.current).length;
  if (newDeployments > 0) {
    const [n] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(deployments)
      .where(and(eq(deployments.clusterId, clusterId), isNull(deployments.deletedAt)));
    if ((n?.n ?? 0) + newDeployments > MAX_DEPLOYMENTS_PER_CLUSTER)
      throw new QuotaExceededError(`a cluster may have at most ${MAX_DEPLOYMENTS_PER_CLUSTER} deployments`);
  }
  if (newObjects > 0) {
    const [n] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(objects)
      .where(eq(objects.clusterId, clusterId));
    if ((n?.n ?? 0) + newObjects > MAX_OBJECTS_PER_CLUSTER)
      throw new QuotaExceededError(
        `a cluster may have at most ${MAX_OBJECTS_PER_CLUSTER} objects besides deployments`,
      );
  }
}

function eventMessage(p: Planned): string {
  const what = `${p.kind} ${p.namespace ? `${p.namespace}/` : ""}${p.name}`;
  if (p.action === "created") return `created ${what}`;
  const paths = p.changedPaths.slice(0, 10).join(", ");
  return `configured ${what}: ${paths}${p.changedPaths.length > 10 ? `, … (${p.changedPaths.length} in all)` : ""}`;
}

/**
 * Admits every document, then writes them all, in ONE transaction: a document that fails admission
 * fails the whole write and nothing is stored. A dry run does everything, writes included, and
 * rolls back. Answers, per object, created / configured (with the changed field paths) / unchanged.
 */
export async function applyDocuments(
  deps: Deps,
  caller: UserCaller,
  clusterId: string,
  docs: Identified[],
  opts: { dryRun: boolean },
): Promise<ApplyResult[]> {
  let results: ApplyResult[];
  try {
    results = await withTenant(deps.db, caller.tenantId, async (tx) => {
      // The lock first: the cluster row read after it is the one the previous writer committed
      // (its Secrets' data key, made by the first Secret written, included).
      await lockWorkloads(tx, clusterId);
      const cluster = await loadCluster(tx, clusterId);
      if (!isOperational(cluster.status))
        throw new ConflictError(
          `cluster ${cluster.id} is ${cluster.status}; workloads need an active cluster`,
          "CLUSTER_NOT_ACTIVE",
        );
      const world = new AdmissionWorld(tx, cluster.id);
      const imagePrefixes = await allowedImagePrefixesOf(deps, tx, caller.tenantId);
      const planned: Planned[] = [];
      const seen = new Set<string>();
      for (const doc of docs) {
        const key = `${doc.kind}/${doc.namespace}/${doc.name}`;
        if (seen.has(key))
          throw new BerthError(
            "VALIDATION_FAILED",
            `${doc.prefix}: ${doc.kind} ${doc.namespace ? `${doc.namespace}/` : ""}${doc.name} appears twice in the same apply`,
          );
        seen.add(key);
        const current = await loadCurrent(tx, deps.master, cluster, doc.kind, doc.namespace, doc.name);
        planned.push(
          await admitDocument(doc, {
            world,
            current,
            imagePrefixes,
            checkImages: (images, prefixes) =>
              checkImagesAllowed(
                images,
                prefixes,
                deps.registryHost ? { host: deps.registryHost, tenantId: caller.tenantId } : null,
              ),
            tenantId: caller.tenantId,
            appsDomain: deps.appsDomain ?? DEFAULT_APPS_DOMAIN,
            now: deps.now(),
          }),
        );
      }
      await checkCounts(tx, cluster.id, planned);
      const now = deps.now();
      const out: ApplyResult[] = [];
      for (const p of planned) {
        const result: ApplyResult = {
          kind: p.kind,
          namespace: p.namespace,
          name: p.name,
          action: p.action,
          changedPaths: p.changedPaths,
        };
        if (p.action !== "unchanged") {
          const written = await writeObject(tx, deps.master, cluster, p, now);
          if (p.kind === "Ingress")
            await claimIngressHosts(
              tx,
              { tenantId: cluster.tenantId, clusterId: cluster.id },
              p.spec as IngressSpec,
            ).catch((error: unknown) => {
              throw error instanceof BerthError && p.prefix
                ? new BerthError(error.code, `${p.prefix}: ${error.message}`)
                : error;
            });
          result.view = written.view;
          await recordEvent(tx, {
            tenantId: cluster.tenantId,
            clusterId: cluster.id,
            objectKind: p.kind,
            objectName: p.name,
            namespace: p.namespace || null,
            objectUid: written.uid,
            source: "berth-api",
            reason: p.action === "created" ? "Created" : "Updated",
            message: eventMessage(p),
          });
        } else result.view = await renderStored(tx, cluster.id, p.kind, p.namespace, p.name);
        out.push(result);
      }
      if (planned.some((p) => p.kind === "Ingress")) await releaseIngressHosts(tx, cluster.id);
      if (opts.dryRun) throw new DryRun(out.map(({ view: _view, ...r }) => r));
      return out;
    });
  } catch (error) {
    if (error instanceof DryRun) return error.results;
    throw error;
  }
  if (results.some((r) => r.action !== "unchanged" && ["Deployment", "Job", "CronJob"].includes(r.kind)))
    await kick(deps, "cluster.reconcile", { tenantId: caller.tenantId, clusterId });
  return results;
}
