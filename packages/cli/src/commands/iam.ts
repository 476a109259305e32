import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { CliError } from "../errors";
import { type Json, listAll, str } from "../json";
import { formatOf, outputOption } from "../options";
import { age, type Column } from "../output";
import { ask, readStdin } from "../prompt";
import type { Runtime } from "../runtime";
import { showRows } from "./show";

type OutputOpts = { output?: string };

/** Rows of an account-wide list (users, keys, policies, audit events) as `-o` asks. */
function print(
  rt: Runtime,
  kind: string,
  items: readonly Json[],
  columns: readonly Column<Json>[],
  o: OutputOpts,
) {
  const nameOf = (i: Json) => `${kind}/${str(i.name) || str(i.email) || str(i.id)}`;
  showRows(rt, { plural: `${kind}s`, columns, nameOf }, items, formatOf(o));
}

const col = (header: string, field: string, wide = false): Column<Json> => ({
  header,
  wide,
  value: (o) => str(o[field]),
});
const ageOf = (field: string): Column<Json> => ({
  header: "age",
  value: (o, now) => age(str(o[field]), now),
});

async function newPassword(rt: Runtime, fromStdin: boolean | undefined): Promise<string> {
  if (fromStdin) return (await readStdin(rt.io)).replace(/\r?\n$/, "");
  return ask(rt.io, "Password for the user: ", { hidden: true, flag: "--password-stdin" });
}

function registerUsers(program: Command, rt: Runtime): void {
  const users = program.command("users").alias("user").description("the account's users");
  const columns = [col("email", "email"), col("id", "id"), col("status", "status"), ageOf("createdAt")];
  users
    .command("create <email>")
    .description("add a user (no permissions until a policy is attached)")
    .option("--password-stdin", "read the password from stdin (else it is asked, hidden)")
    .addOption(outputOption())
    .action(async (email: string, o: OutputOpts & { passwordStdin?: boolean }) => {
      const u = await (await rt.client()).users.create.mutate({
        email,
        password: await newPassword(rt, o.passwordStdin),
      });
      print(rt, "user", [u], columns, o);
    });
  users
    .command("list")
    .alias("ls")
    .addOption(outputOption())
    .action(async (o: OutputOpts) => {
      const client = await rt.client();
      print(
        rt,
        "user",
        await listAll((c) => client.users.list.query({ limit: 500, ...(c ? { cursor: c } : {}) })),
        columns,
        o,
      );
    });
  for (const [verb, status] of [
    ["disable", "disabled"],
    ["enable", "active"],
  ] as const)
    users
      .command(`${verb} <userId>`)
      .description(
        verb === "disable" ? "lock a user out (its sessions end at once)" : "let a disabled user in again",
      )
      .action(async (userId: string) => {
        await (await rt.client()).users.update.mutate({ userId, status });
        rt.print(`user/${userId} ${status}`);
      });
  users
    .command("set-password <userId>")
    .description("set a user's password (its sessions end)")
    .option("--password-stdin", "read the password from stdin")
    .action(async (userId: string, o: { passwordStdin?: boolean }) => {
      await (await rt.client()).users.update.mutate({
        userId,
        password: await newPassword(rt, o.passwordStdin),
      });
      rt.print(`user/${userId} password set`);
    });
  users.command("delete <userId>").action(async (userId: string) => {
    await (await rt.client()).users.delete.mutate({ userId });
    rt.print(`user/${userId} deleted`);
  });

  const sa = program
    .command("service-accounts")
    .alias("sa")
    .description("non-human principals (API keys only)");
  const saColumns = [
    col("name", "name"),
    col("id", "id"),
    col("description", "description"),
    ageOf("createdAt"),
  ];
  sa.command("create <name>")
    .option("--description <text>")
    .addOption(outputOption())
    .action(async (name: string, o: OutputOpts & { description?: string }) => {
      const s = await (await rt.client()).serviceAccounts.create.mutate({
        name,
        ...(o.description ? { description: o.description } : {}),
      });
      print(rt, "serviceaccount", [s as Json], saColumns, o);
    });
  sa.command("list")
    .alias("ls")
    .addOption(outputOption())
    .action(async (o: OutputOpts) => {
      const client = await rt.client();
      print(
        rt,
        "serviceaccount",
        (await listAll((c) =>
          client.serviceAccounts.list.query({ limit: 500, ...(c ? { cursor: c } : {}) }),
        )) as Json[],
        saColumns,
        o,
      );
    });
}

function registerKeys(program: Command, rt: Runtime): void {
  const keys = program
    .command("api-keys")
    .alias("api-key")
    .description("API keys (shown once, stored hashed)");
  const columns = [
    col("id", "id"),
    col("name", "name"),
    col("principal", "principalId"),
    { header: "expires", value: (k: Json) => str(k.expiresAt, "never") },
    { header: "revoked", value: (k: Json) => (k.revokedAt ? "yes" : "no") },
    col("last used", "lastUsedAt", true),
    ageOf("createdAt"),
  ];
  keys
    .command("create")
    .description("a new key; its secret is printed once")
    .option("--name <name>", "what it is for")
    .option("--principal <id>", "a service account or user to mint it for (default: yourself)")
    .option("--expires <time|never>", "ISO time it stops working, or never (default: 90 days)")
    .addOption(outputOption())
    .action(async (o: OutputOpts & { name?: string; principal?: string; expires?: string }) => {
      const k = await (await rt.client()).apiKeys.create.mutate({
        ...(o.name ? { name: o.name } : {}),
        ...(o.principal ? { principalId: o.principal } : {}),
        ...(o.expires ? { expiresAt: o.expires } : {}),
      });
      const format = formatOf(o);
      if (format === "json" || format === "yaml") return print(rt, "apikey", [k as Json], columns, o);
      rt.print(k.key);
      rt.note(`api key ${k.id}: keep it now, it is not shown again (berth login --api-key-stdin)`);
    });
  keys
    .command("list")
    .alias("ls")
    .option("--principal <id>", "only this principal's")
    .addOption(outputOption())
    .action(async (o: OutputOpts & { principal?: string }) => {
      const client = await rt.client();
      const items = await listAll((c) =>
        client.apiKeys.list.query({
          limit: 500,
          ...(o.principal ? { principalId: o.principal } : {}),
          ...(c ? { cursor: c } : {}),
        }),
      );
      print(rt, "apikey", items as Json[], columns, o);
    });
  keys.command("revoke <id>").action(async (apiKeyId: string) => {
    await (await rt.client()).apiKeys.revoke.mutate({ apiKeyId });
    rt.print(`apikey/${apiKeyId} revoked`);
  });
}

function registerPolicies(program: Command, rt: Runtime): void {
  const policies = program
    .command("policies")
    .alias("policy")
    .description("IAM policies and their attachments");
  const columns = [
    col("name", "name"),
    col("id", "id"),
    { header: "managed", value: (p: Json) => String(p.managed === true) },
    col("description", "description", true),
  ];
  const all = async () => {
    const client = await rt.client();
    return (await listAll((c) =>
      client.policies.list.query({ limit: 500, ...(c ? { cursor: c } : {}) }),
    )) as Json[];
  };
  const idOf = async (nameOrId: string) => {
    const p = (await all()).find((x) => x.id === nameOrId || x.name === nameOrId);
    if (!p) throw new CliError(`policy "${nameOrId}" not found`, 1, "NOT_FOUND");
    return str(p.id);
  };
  policies
    .command("create <name>")
    .description("a policy from an IAM document (JSON file, or - for stdin)")
    .requiredOption("-f, --filename <file>", "the policy document")
    .option("--description <text>")
    .addOption(outputOption())
    .action(async (name: string, o: OutputOpts & { filename: string; description?: string }) => {
      const text = o.filename === "-" ? await readStdin(rt.io) : await readFile(o.filename, "utf8");
      let document: unknown;
      try {
        document = JSON.parse(text);
      } catch {
        throw new CliError(`${o.filename}: not JSON`);
      }
      const p = await (await rt.client()).policies.create.mutate({
        name,
        document,
        ...(o.description ? { description: o.description } : {}),
      });
      print(rt, "policy", [p as Json], columns, o);
    });
  policies
    .command("list")
    .alias("ls")
    .addOption(outputOption())
    .action(async (o: OutputOpts) => print(rt, "policy", await all(), columns, o));
  policies
    .command("attach <policy> <principalId>")
    .description("attach a policy (by name or id) to a user or service account")
    .action(async (policy: string, principalId: string) => {
      await (await rt.client()).policies.attach.mutate({ policyId: await idOf(policy), principalId });
      rt.print(`policy/${policy} attached to ${principalId}`);
    });
  policies.command("detach <policy> <principalId>").action(async (policy: string, principalId: string) => {
    await (await rt.client()).policies.detach.mutate({ policyId: await idOf(policy), principalId });
    rt.print(`policy/${policy} detached from ${principalId}`);
  });
}

function registerAudit(program: Command, rt: Runtime): void {
  program
    .command("audit")
    .description("the audit log: every write, every exec, every refused call (newest first)")
    .option("--principal <id>", "only this principal's")
    .option("--action <action>", "only this IAM action (cluster:Create)")
    .option("--result <result>", "success, denied or failure")
    .option("--from <time>", "ISO time")
    .option("--to <time>", "ISO time")
    .option("--limit <n>", "at most this many", "100")
    .addOption(outputOption())
    .action(async (o: OutputOpts & Record<string, string | undefined>) => {
      const page = await (await rt.client()).audit.list.query({
        limit: Number(o.limit),
        ...(o.principal ? { principalId: o.principal } : {}),
        ...(o.action ? { action: o.action } : {}),
        ...(o.result ? { result: o.result as "success" | "denied" | "failure" } : {}),
        ...(o.from ? { from: o.from } : {}),
        ...(o.to ? { to: o.to } : {}),
      });
      print(
        rt,
        "auditevent",
        page.items as Json[],
        [
          col("time", "time"),
          col("principal", "principalId"),
          col("action", "action"),
          col("result", "result"),
          col("status", "status"),
          col("resource", "resource", true),
          col("error", "errorCode", true),
        ],
        o,
      );
    });
}

export function registerIam(program: Command, rt: Runtime): void {
  registerUsers(program, rt);
  registerKeys(program, rt);
  registerPolicies(program, rt);
  registerAudit(program, rt);
}
