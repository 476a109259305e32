import { BerthError, instantSchema } from "@berth/core";
import { deployments, pods, type Tx, withTenant } from "@berth/db";
import { dnsLabelName, dnsSubdomainName } from "@berth/kube";
import { and, desc, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { clusterId, loadCluster } from "./clusters";
import { notFoundMessage } from "./objects/names";
import { timestamp } from "./replies";

const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;
const MAX_WINDOW_SECONDS = 35 * 86_400;

/** `30m`, `6h`, `7d`: how far back from `end` the series goes (at most the 35 days kept). */
const windowParam = z
  .string()
  .regex(/^[1-9]\d{0,6}[smhd]$/, "must be a duration such as 15m, 6h or 7d")
  .transform((v, ctx) => {
    const seconds = Number(v.slice(0, -1)) * UNIT_SECONDS[v.at(-1) as keyof typeof UNIT_SECONDS];
    if (seconds < 60 || seconds > MAX_WINDOW_SECONDS) {
      ctx.addIssue({ code: "custom", message: "must be between 1m and 35d" });
      return z.NEVER;
    }
    return seconds;
  });

const seriesInput = z.object({
  clusterId,
  namespace: dnsLabelName,
  name: dnsSubdomainName,
  window: windowParam.default(3_600),
  end: instantSchema.optional(),
});
export const podSeriesInput = seriesInput.strict();
export const deploymentSeriesInput = seriesInput.strict();

/**
 * The tier a window is read from, finest that covers it: the 10 s samples for up to an hour,
 * minutes for up to a day, hours beyond (as the tiers are kept). Raw samples are put in 10 s steps.
 */
export function resolutionFor(windowSeconds: number): { tier: 0 | 60 | 3_600; step: number } {
  if (windowSeconds <= 3_600) return { tier: 0, step: 10 };
  if (windowSeconds <= 86_400) return { tier: 60, step: 60 };
  return { tier: 3_600, step: 3_600 };
}

export const seriesReply = z.strictObject({
  resolutionSeconds: z.number().int().describe("the step between points"),
  start: timestamp,
  end: timestamp,
  points: z.array(
    z
      .strictObject({
        ts: timestamp.describe("the step's start"),
        cpuMillis: z.number().int(),
        memoryBytes: z.number().int().describe("the average working set"),
        rxBytes: z.number().int(),
        txBytes: z.number().int(),
        pods: z.number().int().describe("pods that reported in the step"),
      })
      .describe("averages over the step (a deployment's: summed over its pods)"),
  ),
});
type Series = z.output<typeof seriesReply>;

type Input = z.infer<typeof seriesInput>;

/** A pod's usage over a window. */
export function podSeries(deps: Deps, caller: UserCaller, input: Input): Promise<Series> {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    const [p] = await tx
      .select({ id: pods.id })
      .from(pods)
      .where(
        and(
          eq(pods.clusterId, input.clusterId),
          eq(pods.namespace, input.namespace),
          eq(pods.name, input.name),
        ),
      )
      .orderBy(desc(pods.seq))
      .limit(1);
    if (!p) throw new BerthError("NOT_FOUND", `pods ${JSON.stringify(input.name)} not found`);
    return series(deps, tx, input, sql`pod_id = ${p.id}`);
  });
}

/** A deployment's usage over a window: every step summed over the pods it had then. */
export function deploymentSeries(deps: Deps, caller: UserCaller, input: Input): Promise<Series> {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    const [d] = await tx
      .select({ id: deployments.id })
      .from(deployments)
      .where(
        and(
          eq(deployments.clusterId, input.clusterId),
          eq(deployments.namespace, input.namespace),
          eq(deployments.name, input.name),
          isNull(deployments.deletedAt),
        ),
      );
    if (!d) throw new BerthError("NOT_FOUND", notFoundMessage("Deployment", input.name));
    return series(deps, tx, input, sql`owner_id = ${d.id}`);
  });
}

async function series(deps: Deps, tx: Tx, input: Input, subject: ReturnType<typeof sql>): Promise<Series> {
  const end = input.end ? new Date(input.end) : deps.now();
  const start = new Date(end.getTime() - input.window * 1000);
  const { tier, step } = resolutionFor(input.window);
  const bucket = sql.raw(`date_bin('${step} seconds'::interval, ts, 'epoch')`);
  // Per pod and step: its average over the step; then summed over the pods of the step.
  const rows = (await tx.execute(sql`
    select b as ts, sum(cpu)::float8 as cpu, sum(mem)::float8 as mem, sum(rx)::float8 as rx, sum(tx)::float8 as tx,
      count(*)::int as pods
    from (
      select pod_id, ${bucket} as b,
        sum(cpu_nanos)::numeric / greatest(sum(window_ms), 1) / 1000 as cpu,
        case when ${tier} = 0 then avg(memory_bytes)
          else sum(memory_byte_seconds)::numeric * 1000 / greatest(sum(window_ms), 1) end as mem,
        sum(rx_bytes) as rx, sum(tx_bytes) as tx
      from pod_metrics
      where ${subject} and resolution = ${tier}
        and ts >= ${start.toISOString()}::timestamptz and ts < ${end.toISOString()}::timestamptz
      group by pod_id, b
    ) per_pod
    group by b order by b`)) as unknown as {
    ts: string | Date;
    cpu: number;
    mem: number;
    rx: number;
    tx: number;
    pods: number;
  }[];
  return {
    resolutionSeconds: step,
    start: start.toISOString(),
    end: end.toISOString(),
    points: rows.map((r) => ({
      ts: new Date(r.ts).toISOString(),
      cpuMillis: Math.round(r.cpu),
      memoryBytes: Math.round(r.mem),
      rxBytes: Math.round(r.rx),
      txBytes: Math.round(r.tx),
      pods: r.pods,
    })),
  };
}
