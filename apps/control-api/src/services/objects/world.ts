import { deployments, objects, type Tx } from "@berth/db";
import {
  BUILT_IN_NAMESPACES,
  type KindName,
  type LimitRangeItem,
  type PriorityClassRef,
  type PriorityClassSpec,
  type QuotaAmounts,
  type ResourcePolicy,
  resourcePolicyOf,
} from "@berth/kube";
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import { NodePorts } from "../network/node-ports";
import { ServiceAddresses } from "../network/service-range";
import { deploymentSpecOf } from "./deployment-view";
import { addAmounts, contributionOf } from "./quota";

/** Namespaces tenants may not write into: the platform's. `default` is built in and open. */
export const RESERVED_NAMESPACES: ReadonlySet<string> = new Set(["kube-system", "kube-public"]);
export const isBuiltInNamespace = (name: string) => (BUILT_IN_NAMESPACES as readonly string[]).includes(name);

export type NamespaceState = "active" | "terminating" | "missing";

/**
 * What admission needs to know of a cluster's namespaces — whether each exists, its LimitRanges,
 * its quotas and their usage — read once from the database and then kept current as the
 * documents of one apply are admitted one after the other, so a later document sees what the
 * earlier ones would write (a namespace created above it, a LimitRange, a quota).
 */
export class AdmissionWorld {
  private readonly namespaces = new Map<string, NamespaceState>();
  private readonly limitRanges = new Map<string, Map<string, { limits: LimitRangeItem[] }>>();
  private readonly quotas = new Map<string, Map<string, QuotaAmounts>>();
  /** Per namespace: each stored object's contribution, by `Kind/name`. */
  private readonly usage = new Map<string, Map<string, QuotaAmounts>>();
  /** Per namespace: the contributions of the documents admitted so far (they replace stored ones). */
  private readonly planned = new Map<string, Map<string, QuotaAmounts>>();
  /** The cluster's PriorityClasses (cluster-scoped: one map). */
  private classes: Map<string, PriorityClassSpec> | undefined;

  private addresses: ServiceAddresses | undefined;
  private ports: NodePorts | undefined;

  constructor(
    private readonly tx: Tx,
    private readonly clusterId: string,
  ) {}

  /** The clusterIPs of the cluster's Services, and those admitted so far. */
  serviceAddresses(): ServiceAddresses {
    this.addresses ??= new ServiceAddresses(this.tx, this.clusterId);
    return this.addresses;
  }

  /** The node ports of the cluster's Services, and those admitted so far. */
  nodePorts(): NodePorts {
    this.ports ??= new NodePorts(this.tx, this.clusterId);
    return this.ports;
  }

  async namespace(name: string): Promise<NamespaceState> {
    const known = this.namespaces.get(name);
    if (known) return known;
    const [row] = await this.tx
      .select({ deletionTimestamp: objects.deletionTimestamp })
      .from(objects)
      .where(
        and(
          eq(objects.clusterId, this.clusterId),
          eq(objects.kind, "Namespace"),
          eq(objects.namespace, ""),
          eq(objects.name, name),
        ),
      );
    const state: NamespaceState = row
      ? row.deletionTimestamp
        ? "terminating"
        : "active"
      : isBuiltInNamespace(name)
        ? "active"
        : "missing";
    this.namespaces.set(name, state);
    return state;
  }

  private async load<T>(
    ns: string,
    kind: KindName,
    cache: Map<string, Map<string, T>>,
  ): Promise<Map<string, T>> {
    const known = cache.get(ns);
    if (known) return known;
    const rows = await this.tx
      .select({ name: objects.name, spec: objects.spec })
      .from(objects)
      .where(and(eq(objects.clusterId, this.clusterId), eq(objects.kind, kind), eq(objects.namespace, ns)));
    const map = new Map(rows.map((r) => [r.name, r.spec as unknown as T]));
    cache.set(ns, map);
    return map;
  }

  /** The namespace's LimitRanges merged into the policy pod templates are admitted under. */
  async resourcePolicy(ns: string): Promise<ResourcePolicy> {
    const ranges = await this.load(ns, "LimitRange", this.limitRanges);
    return resourcePolicyOf([...ranges].map(([name, spec]) => ({ name, spec })));
  }

  async quotasOf(ns: string): Promise<Map<string, QuotaAmounts>> {
    const cached = this.quotas.get(ns);
    if (cached) return cached;
    const specs = await this.load<{ hard: QuotaAmounts }>(ns, "ResourceQuota", new Map());
    const map = new Map([...specs].map(([name, s]) => [name, s.hard]));
    this.quotas.set(ns, map);
    return map;
  }

  /** Each object's contribution to the namespace's usage (read only when a quota needs it). */
  async contributions(ns: string): Promise<Map<string, QuotaAmounts>> {
    const stored = await this.storedContributions(ns);
    return new Map([...stored, ...(this.planned.get(ns) ?? new Map())]);
  }

  private async storedContributions(ns: string): Promise<Map<string, QuotaAmounts>> {
    const known = this.usage.get(ns);
    if (known) return known;
    const map = new Map<string, QuotaAmounts>();
    const deps = await this.tx
      .select()
      .from(deployments)
      .where(
        and(
          eq(deployments.clusterId, this.clusterId),
          eq(deployments.namespace, ns),
          isNull(deployments.deletedAt),
        ),
      );
    for (const d of deps) map.set(`Deployment/${d.name}`, contributionOf("Deployment", deploymentSpecOf(d)));
    const rows = await this.tx
      .select({
        kind: objects.kind,
        name: objects.name,
        // Only a Job's spec and status matter; ConfigMaps and Secrets count, whatever they hold.
        spec: sql<Record<string, unknown> | null>`case when ${objects.kind} = 'Job' then ${objects.spec} end`,
        status: objects.status,
      })
      .from(objects)
      .where(
        and(
          eq(objects.clusterId, this.clusterId),
          eq(objects.namespace, ns),
          inArray(objects.kind, ["Job", "CronJob", "ConfigMap", "Secret"]),
        ),
      );
    for (const r of rows)
      map.set(`${r.kind}/${r.name}`, contributionOf(r.kind as KindName, r.spec, r.status));
    this.usage.set(ns, map);
    return map;
  }

  async used(ns: string): Promise<QuotaAmounts> {
    const total: QuotaAmounts = {};
    for (const c of (await this.contributions(ns)).values()) addAmounts(total, c);
    return total;
  }

  private async classMap(): Promise<Map<string, PriorityClassSpec>> {
    this.classes ??= await this.load<PriorityClassSpec>("", "PriorityClass", new Map());
    return this.classes;
  }

  /** The cluster's PriorityClasses, with those admitted earlier in this write. */
  async priorityClasses(): Promise<PriorityClassRef[]> {
    return [...(await this.classMap())].map(([name, c]) => ({
      name,
      value: c.value,
      globalDefault: c.globalDefault,
      preemptionPolicy: c.preemptionPolicy,
    }));
  }

  /** Records what an admitted document will write, for the documents after it. */
  async admitted(kind: KindName, ns: string, name: string, spec: unknown, contribution: QuotaAmounts) {
    if (kind === "PriorityClass") (await this.classMap()).set(name, spec as PriorityClassSpec);
    if (kind === "Namespace") this.namespaces.set(name, "active");
    if (kind === "LimitRange") (await this.load(ns, "LimitRange", this.limitRanges)).set(name, spec as never);
    if (kind === "ResourceQuota") (await this.quotasOf(ns)).set(name, (spec as { hard: QuotaAmounts }).hard);
    const planned = this.planned.get(ns) ?? new Map<string, QuotaAmounts>();
    planned.set(`${kind}/${name}`, contribution);
    this.planned.set(ns, planned);
  }
}
