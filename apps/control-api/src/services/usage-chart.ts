import { instantSchema, ValidationError } from "@berth/core";
import { HOUR_MS } from "@berth/db";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { escapeMarkup } from "./markup";
import { groupBySchema, type UsageReport, usageReport } from "./usage-report";

/**
 * Cost per day stacked by one group (cluster, namespace, meter or label:<key>), as an SVG readable
 * at a glance: a bar a day, a colour a group, a y axis in the currency, a legend. The figures are
 * the usage report's (grouped by the group and day), so the chart adds up to the invoices.
 */
export const usageChartInput = z
  .object({
    from: instantSchema,
    to: instantSchema,
    groupBy: groupBySchema
      .refine((g) => g.length === 1, "one group: cluster, namespace, meter or label:<key>")
      .refine((g) => g[0] !== "day" && g[0] !== "hour", "the chart's x axis is already the day")
      .default(["cluster"]),
  })
  .strict();

const MAX_DAYS = 400;

export async function usageChart(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof usageChartInput>,
): Promise<UsageReport> {
  const from = new Date(input.from);
  const to = new Date(input.to);
  if (!(to > from))
    throw new ValidationError("to: must be after `from`", [{ path: "to", message: "after from" }]);
  if (to.getTime() - from.getTime() > MAX_DAYS * 86_400_000)
    throw new ValidationError(`to: a chart spans at most ${MAX_DAYS} days`, [
      { path: "to", message: "too far" },
    ]);
  for (const [name, at] of [
    ["from", from],
    ["to", to],
  ] as const)
    if (at.getTime() % HOUR_MS !== 0)
      throw new ValidationError(`${name}: a chart starts and ends on whole hours`, [
        { path: name, message: "whole hours" },
      ]);
  return usageReport(deps, caller, { from, to }, [...input.groupBy, "day"], {});
}

const COLOURS = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];

/** Draws the report (grouped by one key and day) as a stacked bar chart. */
export function chartSvg(r: UsageReport, from: Date, to: Date): string {
  const key = r.groupBy[0] === "cluster" ? "clusterId" : (r.groupBy[0] ?? "");
  const days: string[] = [];
  for (
    let d = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
    d < to.getTime();
    d += 86_400_000
  )
    days.push(new Date(d).toISOString().slice(0, 10));
  const groups = [...new Set(r.lines.map((l) => l.group[key] ?? "(none)"))].sort();
  const cell = new Map<string, number>();
  for (const l of r.lines) cell.set(`${l.group.day}|${l.group[key] ?? "(none)"}`, Number(l.amount));
  const perDay = days.map((d) => groups.reduce((s, g) => s + (cell.get(`${d}|${g}`) ?? 0), 0));
  const top = Math.max(...perDay, 0) || 1;
  const [w, h, left, bottom, legendW] = [Math.max(480, 60 + days.length * 14), 320, 70, 40, 220];
  const plotH = h - bottom - 20;
  const barW = (w - left - 10) / Math.max(days.length, 1);
  const y = (v: number) => 20 + plotH - (v / top) * plotH;
  const parts: string[] = [];
  days.forEach((d, i) => {
    let base = 0;
    groups.forEach((g, gi) => {
      const v = cell.get(`${d}|${g}`) ?? 0;
      if (v <= 0) return;
      parts.push(
        `<rect x="${(left + i * barW + 1).toFixed(1)}" y="${y(base + v).toFixed(1)}" width="${Math.max(barW - 2, 1).toFixed(1)}" height="${(y(base) - y(base + v)).toFixed(1)}" fill="${COLOURS[gi % COLOURS.length]}"><title>${escapeMarkup(`${d} ${g}: ${v.toFixed(6)} ${r.currency}`)}</title></rect>`,
      );
      base += v;
    });
  });
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = top * f;
    return `<line x1="${left}" x2="${w - 10}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/><text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v.toFixed(2)}</text>`;
  });
  const labelEvery = Math.max(1, Math.ceil(days.length / 8));
  const xLabels = days
    .map((d, i) =>
      i % labelEvery === 0
        ? `<text x="${(left + i * barW + barW / 2).toFixed(1)}" y="${h - bottom + 16}" text-anchor="middle">${d.slice(5)}</text>`
        : "",
    )
    .join("");
  const legend = groups
    .map(
      (g, gi) =>
        `<rect x="${w + 10}" y="${24 + gi * 18}" width="12" height="12" fill="${COLOURS[gi % COLOURS.length]}"/><text x="${w + 28}" y="${34 + gi * 18}">${escapeMarkup(g)}</text>`,
    )
    .join("");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w + legendW}" height="${Math.max(h, 40 + groups.length * 18)}" font-family="sans-serif" font-size="11">`,
    `<text x="${left}" y="12" font-weight="bold">${escapeMarkup(`Cost per day by ${r.groupBy[0]} (${r.currency}), total ${r.total}`)}</text>`,
    ...ticks,
    ...parts,
    `<line x1="${left}" x2="${left}" y1="20" y2="${20 + plotH}" stroke="#333"/><line x1="${left}" x2="${w - 10}" y1="${20 + plotH}" y2="${20 + plotH}" stroke="#333"/>`,
    `<text x="12" y="${20 + plotH / 2}" transform="rotate(-90 12 ${20 + plotH / 2})" text-anchor="middle">${escapeMarkup(r.currency)}</text>`,
    xLabels,
    legend,
    "</svg>",
  ].join("\n");
}
