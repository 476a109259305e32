import { usageToCsv } from "@berth/core";
import { type Command, Option } from "commander";
import { UsageError } from "../errors";
import { structured, table } from "../output";
import type { Runtime } from "../runtime";

/** Adds decimal strings exactly ("1.250000" + "0.5" → "1.750000"): usage is never a float. */
export function addDecimals(values: readonly string[]): string {
  const scale = Math.max(0, ...values.map((v) => (v.split(".")[1] ?? "").length));
  const total = values.reduce((sum, v) => {
    const [int = "0", frac = ""] = v.split(".");
    const negative = int.startsWith("-");
    const units = BigInt(int.replace("-", "") + frac.padEnd(scale, "0"));
    return sum + (negative ? -units : units);
  }, 0n);
  const digits = (total < 0n ? -total : total).toString().padStart(scale + 1, "0");
  const text = scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return total < 0n ? `-${text}` : text;
}

const startOfMonth = (now: Date) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();

export function registerUsage(program: Command, rt: Runtime): void {
  program
    .command("usage")
    .description("priced usage between two times (default: this month so far)")
    .option("--from <time>", "ISO time (default: the start of this month, UTC)")
    .option("--to <time>", "ISO time (default: now)")
    .option("--all-clusters", "every cluster, not only --cluster's (the default when no cluster is chosen)")
    .addOption(
      new Option("--group-by <field>", "one line per meter or per cluster").choices(["meter", "cluster"]),
    )
    .addOption(new Option("-o, --output <format>", "json, yaml or csv").choices(["json", "yaml", "csv"]))
    .action(
      async (o: {
        from?: string;
        to?: string;
        allClusters?: boolean;
        groupBy?: "meter" | "cluster";
        output?: string;
      }) => {
        const now = new Date();
        const cluster =
          !o.allClusters && (rt.globals.cluster || (await rt.context()).cluster)
            ? await rt.clusterId()
            : undefined;
        const answer = await (await rt.client()).usage.get.query({
          from: o.from ?? startOfMonth(now),
          to: o.to ?? now.toISOString(),
          ...(cluster ? { clusterId: cluster } : {}),
        });
        // Asked without the server's groupBy, the API answers the priced usage per cluster × meter.
        if ("groupBy" in answer) throw new Error("the API answered a grouped report to an ungrouped request");
        const usage = answer;
        if (o.output === "csv") {
          if (o.groupBy) throw new UsageError("--group-by does not apply to -o csv");
          return rt.print(usageToCsv(usage));
        }
        const data = structured(usage, o.output === "yaml" ? "yaml" : o.output === "json" ? "json" : "table");
        if (data) return rt.print(data);
        const lines = usage.lines;
        if (o.groupBy) {
          const key = o.groupBy === "meter" ? "meter" : "clusterId";
          const groups = [...new Set(lines.map((l) => l[key]))];
          rt.print(
            table(
              o.groupBy === "meter" ? ["meter", "quantity", "unit", "amount"] : ["cluster", "amount"],
              groups.map((g) => {
                const of = lines.filter((l) => l[key] === g);
                const amount = `${addDecimals(of.map((l) => l.amount))} ${usage.currency}`;
                return o.groupBy === "meter"
                  ? [g, addDecimals(of.map((l) => l.quantity)), of[0]?.unit, amount]
                  : [g, amount];
              }),
            ),
          );
        } else if (lines.length) {
          rt.print(
            table(
              ["meter", "cluster", "quantity", "unit", "unit price", "amount"],
              lines.map((l) => [l.meter, l.clusterId, l.quantity, l.unit, l.unitPrice, l.amount]),
            ),
          );
        }
        rt.print(`TOTAL   ${usage.total} ${usage.currency}`);
      },
    );
}
