/**
 * Usage reports over the longest range the API takes (13 months) for a large tenant, against real
 * Postgres: `--clusters` (3) × `--namespaces` (10) × 3 label values × 4 meters × every hour of 13
 * months in `usage_hourly` (default ≈ 3.4 million rows), then `GET /v1/usage` grouped by cluster,
 * by label, and by day and namespace. Prints the rows and each report's time and size; checks
 * that every report's total is the same amount.
 *
 *   eval "$(bash infra/services.sh env)"; npx tsx apps/control-api/bench/usage-report.bench.ts
 */
import { performance } from "node:perf_hooks";
import { withSystem } from "@berth/db";
import { sql } from "drizzle-orm";
import { createTestApi } from "../src/testing";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const CLUSTERS = flag("--clusters", 3);
const NAMESPACES = flag("--namespaces", 10);

const api = await createTestApi();
try {
  const t = await api.tenant("big-spender");
  await api.call("PATCH", "/v1/tenant", { token: t.token, body: { costAllocationLabelKeys: ["team"] } });
  const from = new Date("2025-11-01T00:00:00Z");
  const to = new Date("2026-12-01T00:00:00Z");
  const seeded = performance.now();
  await withSystem(api.deps.db, (tx) =>
    tx.execute(sql`
      insert into usage_hourly (tenant_id, hour, cluster_id, namespace, meter, labels_key, labels, raw, events)
      select ${t.tenantId}, h, 'cls_bench_' || c, 'ns-' || n, m, '{"team": "' || team || '"}',
             jsonb_build_object('team', team), (1 + (extract(epoch from h)::bigint % 97)) * 3600000 * 250, 1
      from generate_series(${from.toISOString()}::timestamptz, ${to.toISOString()}::timestamptz - interval '1 hour', interval '1 hour') h,
           generate_series(1, ${CLUSTERS}) c, generate_series(1, ${NAMESPACES}) n,
           unnest(array['pod_vcpu_seconds', 'pod_memory_gib_seconds', 'node_hours', 'pod_vcpu_seconds_over_request']) m,
           unnest(array['red', 'blue', 'green']) team`),
  );
  const [{ n } = { n: 0 }] = (await withSystem(api.deps.db, (tx) =>
    tx.execute(sql`select count(*)::int as n from usage_hourly where tenant_id = ${t.tenantId}`),
  )) as unknown as { n: number }[];
  console.log(
    `seeded ${n.toLocaleString("en-US")} hourly rows in ${((performance.now() - seeded) / 1000).toFixed(1)} s`,
  );

  const totals = new Set<string>();
  for (const groupBy of ["cluster", "label:team", "day,namespace"]) {
    const started = performance.now();
    const r = await api.call(
      "GET",
      `/v1/usage?from=${from.toISOString()}&to=${to.toISOString()}&groupBy=${groupBy}`,
      { token: t.token },
    );
    const ms = performance.now() - started;
    if (r.status !== 200) throw new Error(`groupBy=${groupBy}: ${r.status} ${JSON.stringify(r.body)}`);
    totals.add(r.body.total);
    console.log(
      `groupBy=${groupBy}: ${r.body.lines.length.toLocaleString("en-US")} lines, ${(JSON.stringify(r.body).length / 1024).toFixed(0)} KiB, ${(ms / 1000).toFixed(2)} s (total ${r.body.total} ${r.body.currency})`,
    );
  }
  if (totals.size !== 1) throw new Error(`reports disagree on the total: ${[...totals].join(", ")}`);
  console.log("every report adds up to the same total");
} finally {
  await api.close();
}
