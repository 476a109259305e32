import type { Command } from "commander";
import { str } from "../json";
import { formatsOption as outputOption } from "../options";
import { structured, table } from "../output";
import type { Runtime } from "../runtime";

type Json = Record<string, unknown>;

/** `berth top pods|nodes`: the latest usage of each, as `kubectl top` prints it. */
export function registerTop(program: Command, rt: Runtime): void {
  const top = program.command("top").description("the latest CPU and memory use of pods or nodes");
  top
    .command("pods")
    .alias("pod")
    .option("-n, --namespace <ns>", "only this namespace")
    .addOption(outputOption(["json", "yaml"]))
    .action(async (o: { namespace?: string; output?: "json" | "yaml" }) => {
      const [client, clusterId] = [await rt.client(), await rt.clusterId()];
      const answer = (await client.metrics.pods.query({
        clusterId,
        ...(o.namespace ? { namespace: o.namespace } : {}),
      })) as unknown as { items: Json[] };
      const data = structured(answer, o.output ?? "table");
      if (data) return rt.print(data);
      if (answer.items.length === 0) return rt.print("No usage yet: pods report every 10 s once running.");
      rt.print(
        table(
          ["namespace", "name", "cpu(cores)", "memory(bytes)"],
          answer.items.map((p) => {
            const usage = p.usage as { cpu: string; memory: string };
            return [p.namespace, p.name, usage.cpu, usage.memory];
          }),
        ),
      );
    });
  top
    .command("nodes")
    .alias("node")
    .addOption(outputOption(["json", "yaml"]))
    .action(async (o: { output?: "json" | "yaml" }) => {
      const [client, clusterId] = [await rt.client(), await rt.clusterId()];
      const answer = (await client.metrics.nodes.query({ clusterId })) as unknown as { items: Json[] };
      const data = structured(answer, o.output ?? "table");
      if (data) return rt.print(data);
      if (answer.items.length === 0) return rt.print("No usage yet: nodes report every 10 s.");
      rt.print(
        table(
          ["name", "cpu(cores)", "cpu%", "memory(bytes)", "memory%"],
          answer.items.map((n) => {
            return [
              n.name,
              `${str(n.cpuMillis)}m`,
              `${str(n.cpuPercent)}%`,
              `${Math.round(Number(n.memoryBytes) / 1024 ** 2)}Mi`,
              `${str(n.memoryPercent)}%`,
            ];
          }),
        ),
      );
    });
}

/** `berth invoices [get <id>]`: drafts and final invoices, one with its lines. */
export function registerInvoices(program: Command, rt: Runtime): void {
  const invoices = program
    .command("invoices")
    .description("invoices: the running month's draft and the finalised, numbered ones");
  invoices
    .command("list", { isDefault: true })
    .alias("ls")
    .addOption(outputOption(["json", "yaml"]))
    .action(async (o: { output?: "json" | "yaml" }) => {
      const answer = (await (await rt.client()).invoices.list.query({})) as unknown as { items: Json[] };
      const data = structured(answer, o.output ?? "table");
      if (data) return rt.print(data);
      rt.print(
        table(
          ["id", "number", "status", "period", "total"],
          answer.items.map((i) => [
            i.id,
            str(i.number),
            i.status,
            str(i.periodStart).slice(0, 7),
            `${str(i.total)} ${str(i.currency)}`,
          ]),
        ),
      );
    });
  invoices
    .command("get <id>")
    .description("an invoice's lines (inv_… or draft-YYYY-MM); -o csv or html as the API renders them")
    .addOption(outputOption(["json", "yaml", "csv", "html"]))
    .action(async (id: string, o: { output?: "json" | "yaml" | "csv" | "html" }) => {
      if (o.output === "csv" || o.output === "html") {
        const res = await rt.rest(`/v1/invoices/${encodeURIComponent(id)}?format=${o.output}`);
        rt.io.stdout.write(await res.text());
        return;
      }
      const inv = (await (await rt.client()).invoices.get.query({ invoiceId: id })) as unknown as Json & {
        lines: Json[];
      };
      const data = structured(inv, o.output ?? "table");
      if (data) return rt.print(data);
      rt.print(
        `${inv.number === null ? "Draft" : `Invoice ${str(inv.number)}`} ${str(inv.id)}: ${str(inv.periodStart).slice(0, 7)}, ${str(inv.status)}`,
      );
      rt.print(
        table(
          ["#", "usage", "cluster", "meter", "quantity", "unit price", "amount"],
          inv.lines.map((l) => [
            l.lineNo,
            l.kind === "adjustment" ? `adjustment ${str(l.usagePeriod)}` : l.usagePeriod,
            l.clusterId,
            l.meter,
            `${str(l.quantity)} ${str(l.unit)}`,
            l.unitPrice,
            l.amount,
          ]),
        ),
      );
      rt.print(`TOTAL   ${str(inv.total)} ${str(inv.currency)}`);
    });
}
