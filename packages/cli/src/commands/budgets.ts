import { WEBHOOK_EVENT_TYPES } from "@berth/core";
import type { Command } from "commander";
import { integer } from "../args";
import { CliError, UsageError } from "../errors";
import { str } from "../json";
import { formatsOption } from "../options";
import { age, structured, table } from "../output";
import type { Runtime } from "../runtime";

type Json = Record<string, unknown>;
type OutputOpts = { output?: "json" | "yaml" };

const thresholdsOf = (value: string) =>
  value.split(",").map((t) => integer(t.trim().replace(/%$/, ""), "--thresholds"));

/** A budget by id (`budget_…`) or by name. */
async function budgetId(rt: Runtime, given: string): Promise<string> {
  if (/^bud_[0-9a-z]{26}$/.test(given)) return given;
  const { items } = await (await rt.client()).budgets.list.query({});
  const found = items.find((b) => b.name === given);
  if (!found) throw new CliError(`budget "${given}" not found`, 1, "NOT_FOUND");
  return found.id;
}

const scopeText = (s: Json) =>
  s.type === "cluster"
    ? `cluster ${str(s.clusterId)}`
    : s.type === "label"
      ? `${str(s.key)}=${str(s.value)}`
      : "tenant";

/** `berth budgets …`: monthly budgets with threshold and forecast alerts (AWS Budgets' shape). */
export function registerBudgets(program: Command, rt: Runtime): void {
  const budgets = program
    .command("budgets")
    .alias("budget")
    .description("monthly budgets of the tenant, a cluster or a label value, and their alerts");
  budgets
    .command("create <name>")
    .description("a monthly budget; alerts (events, webhooks) at each threshold of actual or forecast spend")
    .requiredOption("--amount <decimal>", "the month's amount, e.g. 250 or 99.50")
    .option("--currency <code>", "ISO 4217 (default: the price book's)")
    .option(
      "--scope <scope>",
      "tenant, cluster (--cluster's or the context's) or label=<key>=<value>",
      "tenant",
    )
    .option("--thresholds <list>", "percentages of the amount, e.g. 50,80,100 (the default)")
    .option("--no-forecast", "no alerts on the month's forecast, only on actual spend")
    .addOption(formatsOption(["json", "yaml"]))
    .action(
      async (
        name: string,
        o: OutputOpts & {
          amount: string;
          currency?: string;
          scope: string;
          thresholds?: string;
          forecast: boolean;
        },
      ) => {
        const client = await rt.client();
        const label = /^label=([^=]+)=(.+)$/.exec(o.scope);
        const scope =
          o.scope === "tenant"
            ? { type: "tenant" as const }
            : o.scope === "cluster"
              ? { type: "cluster" as const, clusterId: await rt.clusterId() }
              : label
                ? { type: "label" as const, key: label[1] ?? "", value: label[2] ?? "" }
                : undefined;
        if (!scope) throw new UsageError(`--scope ${o.scope}: tenant, cluster or label=<key>=<value>`);
        const created = await client.budgets.create.mutate({
          name,
          amount: o.amount,
          scope,
          ...(o.currency ? { currency: o.currency } : {}),
          ...(o.thresholds ? { thresholds: thresholdsOf(o.thresholds) } : {}),
          notify: { actual: true, forecast: o.forecast },
        });
        rt.print(
          structured(created, o.output ?? "table") ?? `budget/${created.name} created (${created.id})`,
        );
      },
    );
  budgets
    .command("list", { isDefault: true })
    .alias("ls")
    .addOption(formatsOption(["json", "yaml"]))
    .action(async (o: OutputOpts) => {
      const answer = await (await rt.client()).budgets.list.query({});
      const data = structured(answer, o.output ?? "table");
      if (data) return rt.print(data);
      rt.print(
        table(
          ["name", "amount", "scope", "thresholds", "age"],
          answer.items.map((b) => [
            b.name,
            `${b.amount} ${b.currency}`,
            scopeText(b.scope as Json),
            b.thresholds.map((t) => `${t}%`).join(","),
            age(b.createdAt),
          ]),
        ),
      );
    });
  budgets
    .command("get <name>")
    .alias("describe")
    .description("this month's actual and forecast spend against the budget, and the alerts that fired")
    .addOption(formatsOption(["json", "yaml"]))
    .action(async (name: string, o: OutputOpts) => {
      const client = await rt.client();
      const b = await client.budgets.get.query({ budgetId: await budgetId(rt, name) });
      const data = structured(b, o.output ?? "table");
      if (data) return rt.print(data);
      const p = b.period;
      rt.print(
        `Budget ${b.name} (${b.id}): ${b.amount} ${b.currency} a month, ${scopeText(b.scope as Json)}`,
      );
      rt.print(
        `${p.start.slice(0, 7)}: actual ${p.actual} (${p.actualPercent}%), forecast ${p.forecast} (${p.forecastPercent}%)`,
      );
      if (b.alerts.length)
        rt.print(
          table(
            ["alert", "threshold", "spend", "fired"],
            b.alerts.map((a) => [a.kind, `${a.threshold}%`, a.spend, a.firedAt]),
          ),
        );
    });
  budgets
    .command("update <name>")
    .description("change a budget's amount or thresholds")
    .option("--amount <decimal>", "the month's amount")
    .option("--thresholds <list>", "percentages of the amount, e.g. 50,80,100")
    .action(async (name: string, o: { amount?: string; thresholds?: string }) => {
      if (!o.amount && !o.thresholds)
        throw new UsageError("nothing to change: give --amount or --thresholds");
      const b = await (await rt.client()).budgets.update.mutate({
        budgetId: await budgetId(rt, name),
        ...(o.amount ? { amount: o.amount } : {}),
        ...(o.thresholds ? { thresholds: thresholdsOf(o.thresholds) } : {}),
      });
      rt.print(`budget/${b.name} updated`);
    });
  budgets
    .command("delete <name>")
    .alias("rm")
    .action(async (name: string) => {
      await (await rt.client()).budgets.delete.mutate({ budgetId: await budgetId(rt, name) });
      rt.print(`budget/${name} deleted`);
    });
  budgets
    .command("events <name>")
    .description("the budget's alerts as events, newest first")
    .addOption(formatsOption(["json", "yaml"]))
    .action(async (name: string, o: OutputOpts) => {
      const answer = await (await rt.client()).budgets.events.query({ budgetId: await budgetId(rt, name) });
      const data = structured(answer, o.output ?? "table");
      if (data) return rt.print(data);
      rt.print(
        table(
          ["last seen", "type", "reason", "message"],
          (answer.items as Json[]).map((e) => [
            age(str(e.lastTimestamp) || str(e.createdAt)),
            e.type,
            e.reason,
            e.message,
          ]),
        ),
      );
    });
  registerWebhooks(program, rt);
}

/** `berth webhooks …`: signed HTTPS notifications of the tenant's events. */
function registerWebhooks(program: Command, rt: Runtime): void {
  const webhooks = program
    .command("webhooks")
    .alias("webhook")
    .description("endpoints that receive the tenant's events, signed (budget alerts)");
  webhooks
    .command("create")
    .description("register an endpoint; its signing secret is shown once")
    .requiredOption("--url <https-url>", "where events are POSTed")
    .option("--events <list>", `which: ${WEBHOOK_EVENT_TYPES.join(", ")}`, WEBHOOK_EVENT_TYPES.join(","))
    .addOption(formatsOption(["json", "yaml"]))
    .action(async (o: OutputOpts & { url: string; events: string }) => {
      const events = o.events.split(",").map((e) => e.trim());
      const unknown = events.filter((e) => !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(e));
      if (unknown.length) throw new UsageError(`--events: unknown ${unknown.join(", ")}`);
      const created = await (await rt.client()).webhooks.create.mutate({
        url: o.url,
        events: events as (typeof WEBHOOK_EVENT_TYPES)[number][],
      });
      const data = structured(created, o.output ?? "table");
      if (data) return rt.print(data);
      rt.print(`webhook/${created.id} created`);
      rt.print(`signing secret (shown once): ${created.secret}`);
    });
  webhooks
    .command("list", { isDefault: true })
    .alias("ls")
    .addOption(formatsOption(["json", "yaml"]))
    .action(async (o: OutputOpts) => {
      const answer = await (await rt.client()).webhooks.list.query({});
      const data = structured(answer, o.output ?? "table");
      if (data) return rt.print(data);
      rt.print(
        table(
          ["id", "url", "events", "age"],
          answer.items.map((w) => [w.id, w.url, w.events.join(","), age(w.createdAt)]),
        ),
      );
    });
  webhooks
    .command("delete <id>")
    .alias("rm")
    .action(async (id: string) => {
      await (await rt.client()).webhooks.delete.mutate({ webhookId: id });
      rt.print(`webhook/${id} deleted`);
    });
  webhooks
    .command("deliveries <id>")
    .description("the endpoint's delivery log, newest first")
    .addOption(formatsOption(["json", "yaml"]))
    .action(async (id: string, o: OutputOpts) => {
      const answer = await (await rt.client()).webhooks.deliveries.query({ webhookId: id });
      const data = structured(answer, o.output ?? "table");
      if (data) return rt.print(data);
      rt.print(
        table(
          ["event", "status", "attempts", "answer", "age"],
          (answer.items as Json[]).map((d) => [
            d.eventType,
            d.status,
            d.attempts,
            str(d.lastStatusCode) || str(d.lastError),
            age(str(d.createdAt)),
          ]),
        ),
      );
    });
}
