import { newId } from "@berth/core";
import { clusters, finalizeInvoices, ingestUsageEvents, rollupAll, withSystem } from "@berth/db";
import { generateWorkload } from "@berth/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";

let api: TestApi;
let token: string;
let tenantId: string;
const clusterIds: string[] = [];
const october = "from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z";

/** Micro-units of an amount string ("1.234567" → 1234567n), to add amounts exactly. */
const micro = (s: string) => BigInt(s.replace(".", ""));

beforeAll(async () => {
  api = await createTestApi();
  ({ token, tenantId } = await api.tenant("billing"));
  expect(
    (await api.call("PATCH", "/v1/tenant", { token, body: { costAllocationLabelKeys: ["team"] } })).body
      .costAllocationLabelKeys,
  ).toEqual(["team"]);
  await withSystem(api.deps.db, async (tx) => {
    for (const name of ["a", "b", "c"]) {
      const id = newId("cluster");
      clusterIds.push(id);
      await tx.insert(clusters).values({ id, tenantId, name });
    }
  });
  // A month of usage over three clusters (October 2026), replays included, then finalised.
  const now = new Date("2026-11-01T00:30:00Z");
  const w = generateWorkload({
    tenants: [tenantId],
    clustersPerTenant: { [tenantId]: clusterIds },
    distinct: 3_000,
    replayedShare: 0.3,
    lateShare: 0,
    now,
    batchSize: 1_000,
    seed: 11,
  });
  for (const b of w.batches)
    await ingestUsageEvents(
      api.deps.db,
      b.map((e) => ({
        ...e,
        hour: new Date(Math.max(e.hour.getTime(), Date.parse("2026-10-01T00:00:00Z"))),
      })),
      now,
    );
  await rollupAll(api.deps.db);
  await finalizeInvoices(api.deps.db, new Date("2026-11-01T01:30:00Z"));
}, 60_000);
afterAll(() => api.close());

describe("invoices and usage reports", () => {
  it("lists the running month's draft and the finalised, numbered invoice", async () => {
    const r = await api.call("GET", "/v1/invoices", { token });
    expect(r.status).toBe(200);
    const final = r.body.items.filter((i: { status: string }) => i.status === "final");
    expect(final).toMatchObject([{ number: 1, periodStart: "2026-10-01T00:00:00.000Z", currency: "USD" }]);
    expect(r.body.items[0]).toMatchObject({ status: "draft", number: null });
    const draft = await api.call("GET", `/v1/invoices/${r.body.items[0].id}`, { token });
    expect(draft.status).toBe(200);
    expect((await api.call("GET", "/v1/invoices/draft-2020-01", { token })).status).toBe(404);
    expect((await api.call("GET", "/v1/invoices/nonsense", { token })).status).toBe(400);
  });

  it("reconciles a month's invoice of three clusters line by line with the usage report", async () => {
    const list = await api.call("GET", "/v1/invoices", { token });
    const id = list.body.items.find((i: { status: string }) => i.status === "final").id;
    const inv = (await api.call("GET", `/v1/invoices/${id}`, { token })).body;
    expect(new Set(inv.lines.map((l: { clusterId: string }) => l.clusterId)).size).toBe(3);
    const report = (await api.call("GET", `/v1/usage?${october}&groupBy=cluster,meter`, { token })).body;
    expect(
      report.lines.map(
        (l: { group: { clusterId: string; meter: string }; quantity: string; amount: string }) => [
          l.group.clusterId,
          l.group.meter,
          l.quantity,
          l.amount,
        ],
      ),
    ).toEqual(
      inv.lines
        .map((l: { clusterId: string; meter: string; quantity: string; amount: string }) => [
          l.clusterId,
          l.meter,
          l.quantity,
          l.amount,
        ])
        .sort((a: string[], b: string[]) => (`${a[0]}|${a[1]}` < `${b[0]}|${b[1]}` ? -1 : 1)),
    );
    expect(report.total).toBe(inv.total);
    const sum = inv.lines.reduce((s: bigint, l: { amount: string }) => s + micro(l.amount), 0n);
    expect(micro(inv.total)).toBe(sum);
    // The re-billing report by label adds up to the same total, to the micro-unit.
    const byTeam = (await api.call("GET", `/v1/usage?${october}&groupBy=label:team`, { token })).body;
    expect(byTeam.lines.map((l: { group: Record<string, string> }) => l.group["label:team"]).sort()).toEqual([
      "blue",
      "green",
      "red",
    ]);
    expect(byTeam.lines.reduce((s: bigint, l: { amount: string }) => s + micro(l.amount), 0n)).toBe(sum);
    const byDay = (await api.call("GET", `/v1/usage?${october}&groupBy=day,namespace`, { token })).body;
    expect(byDay.lines.reduce((s: bigint, l: { amount: string }) => s + micro(l.amount), 0n)).toBe(sum);
    // Page by page (limit 2), the same lines in the same order, each page with the whole total.
    const paged: unknown[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : "";
      const page = (
        await api.call("GET", `/v1/usage?${october}&groupBy=day,namespace&limit=2${q}`, { token })
      ).body;
      expect(page.lines.length).toBeLessThanOrEqual(2);
      expect(page.total).toBe(byDay.total);
      expect(page.lineCount).toBe(byDay.lines.length);
      paged.push(...page.lines);
      cursor = page.nextCursor;
    } while (cursor);
    expect(paged).toEqual(byDay.lines);
    expect(byDay.lines.length).toBeGreaterThan(2);
    const badCursor = await api.call("GET", `/v1/usage?${october}&groupBy=day&cursor=bm9wZQ`, { token });
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.error.issues[0].path).toBe("cursor");
    // CSV of both, the same figures.
    const csv = await api.call("GET", `/v1/invoices/${id}?format=csv`, { token });
    expect(csv.headers.get("content-type")).toMatch(/text\/csv/);
    expect(csv.text.trim().split("\n").at(-1)).toBe(`total,,,,,,,,${inv.total},USD`);
    // A printable page of the same invoice: every line's amount and the total, nothing that runs.
    const html = await api.call("GET", `/v1/invoices/${id}?format=html`, { token });
    expect(html.headers.get("content-type")).toMatch(/text\/html/);
    expect(html.text).toContain(`<h1>Invoice ${inv.number}</h1>`);
    for (const l of inv.lines as { amount: string }[]) expect(html.text).toContain(`>${l.amount}</td>`);
    expect(html.text).toContain(`${inv.total} USD</td>`);
    expect(html.text).not.toMatch(/<script|https?:\/\//);
    const reportCsv = await api.call("GET", `/v1/usage?${october}&groupBy=label:team&format=csv`, { token });
    expect(reportCsv.text.split("\n")[0]).toBe("label:team,amount,currency");
  });

  it("draws cost per day stacked by cluster as an SVG with axes, legend and currency", async () => {
    const r = await api.call("GET", `/v1/usage/chart.svg?${october}&groupBy=cluster`, { token });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/image\/svg\+xml/);
    expect(r.text).toMatch(/^<svg /);
    for (const id of clusterIds) expect(r.text).toContain(`>${id}</text>`);
    const inv = (await api.call("GET", "/v1/invoices", { token })).body.items.find(
      (i: { status: string }) => i.status === "final",
    );
    expect(r.text).toContain(`(USD), total ${inv.total}`);
    expect((await api.call("GET", `/v1/usage/chart.svg?${october}&groupBy=day`, { token })).status).toBe(400);
    expect(
      (await api.call("GET", `/v1/usage/chart.svg?${october}&groupBy=cluster,meter`, { token })).status,
    ).toBe(400);
  });

  it("filters a grouped report by namespace, meter and label", async () => {
    const all = (await api.call("GET", `/v1/usage?${october}&groupBy=meter`, { token })).body;
    const web = (await api.call("GET", `/v1/usage?${october}&groupBy=meter&namespace=web`, { token })).body;
    const red = (await api.call("GET", `/v1/usage?${october}&groupBy=meter&label=team=red`, { token })).body;
    expect(micro(web.total)).toBeLessThan(micro(all.total));
    expect(micro(red.total)).toBeLessThan(micro(all.total));
    const cpu = (
      await api.call("GET", `/v1/usage?${october}&groupBy=cluster&meter=pod_vcpu_seconds`, { token })
    ).body;
    expect(cpu.lines.length).toBe(3);
  });

  it("answers bad report parameters with 400 naming the parameter", async () => {
    const cases: [string, RegExp][] = [
      ["from=2026-10-02T00:00:00Z&to=2026-10-01T00:00:00Z", /^to:/],
      ["from=2025-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", /^to:.*13 months/],
      [`${october}&groupBy=planet`, /groupBy/],
      [`${october}&groupBy=label:-bad-`, /groupBy/],
      [`${october}&groupBy=cluster&label=-x=y`, /label/],
      ["from=2026-10-01T00:30:00Z&to=2026-11-01T00:00:00Z&groupBy=cluster", /^from:/],
    ];
    for (const [query, message] of cases) {
      const r = await api.call("GET", `/v1/usage?${query}`, { token });
      expect(r.status, query).toBe(400);
      expect(r.body.error.code).toBe("VALIDATION_FAILED");
      expect(r.body.error.message, query).toMatch(message);
    }
  });

  it("creates a cluster in the free dev tier or the standard tier", async () => {
    const dev = await api.call("POST", "/v1/clusters", { token, body: { name: "dev-one", tier: "dev" } });
    expect(dev.status).toBe(202);
    expect(dev.body.tier).toBe("dev");
    const std = await api.call("POST", "/v1/clusters", { token, body: { name: "std-one" } });
    expect(std.body.tier).toBe("standard");
    const bad = await api.call("POST", "/v1/clusters", { token, body: { name: "x", tier: "gold" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/tier/);
  });

  it("shows another tenant none of it", async () => {
    const other = await api.tenant("billing-other");
    const list = await api.call("GET", "/v1/invoices", { token });
    const id = list.body.items.find((i: { status: string }) => i.status === "final").id;
    expect((await api.call("GET", `/v1/invoices/${id}`, { token: other.token })).status).toBe(404);
    const r = await api.call("GET", `/v1/usage?${october}&groupBy=cluster`, { token: other.token });
    expect(r.body.lines).toEqual([]);
  });
});
