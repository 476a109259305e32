#!/usr/bin/env -S npx tsx
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { usageToCsv } from "@berth/core";
import { parse as parseYaml } from "yaml";
import { cliEnv } from "./env";
import { type BerthClient, createClient, errorCodeOf } from "./index";

const HELP = `berth: the Berth command line (BERTH_URL, BERTH_TOKEN from the environment)

  berth signup <tenant> <email> <password>
  berth login <email> <password>                   prints an access token: export BERTH_TOKEN=…
  berth clusters [create <name> | get <id> | delete <id>]
  berth join-token <clusterId>
  berth nodes <clusterId>
  berth apply <clusterId> <namespace> <name> -f <manifest.yaml|json>
  berth deployments <clusterId> [delete <namespace> <name>]
  berth pods <clusterId>
  berth events <clusterId>
  berth usage <from> <to> [--csv]
`;

type Command = (
  client: BerthClient,
  args: string[],
  flags: { file?: string; csv?: boolean },
) => Promise<unknown>;

function need(args: string[], n: number, usage: string): string[] {
  if (args.length < n) throw new Error(`usage: berth ${usage}`);
  return args;
}

const commands: Record<string, Command> = {
  signup: (c, a) => {
    const [tenantName = "", email = "", password = ""] = need(a, 3, "signup <tenant> <email> <password>");
    return c.auth.signup.mutate({ tenantName, email, password });
  },
  login: async (c, a) => {
    const [email = "", password = ""] = need(a, 2, "login <email> <password>");
    return (await c.auth.token.mutate({ email, password })).accessToken;
  },
  clusters: (c, [verb, arg = ""]) => {
    if (verb === "create") return c.clusters.create.mutate({ name: arg });
    if (verb === "get") return c.clusters.get.query({ clusterId: arg });
    if (verb === "delete") return c.clusters.delete.mutate({ clusterId: arg });
    return c.clusters.list.query({});
  },
  "join-token": (c, a) =>
    c.clusters.createJoinToken.mutate({ clusterId: need(a, 1, "join-token <clusterId>")[0] ?? "" }),
  nodes: (c, a) => c.nodes.list.query({ clusterId: need(a, 1, "nodes <clusterId>")[0] ?? "" }),
  apply: async (c, a, f) => {
    const [clusterId = "", namespace = "", name = ""] = need(
      a,
      3,
      "apply <clusterId> <namespace> <name> -f <file>",
    );
    if (!f.file) throw new Error("usage: berth apply <clusterId> <namespace> <name> -f <file>");
    const manifest = parseYaml(await readFile(f.file, "utf8"), { maxAliasCount: 0 });
    return c.deployments.upsert.mutate({ clusterId, namespace, name, manifest });
  },
  deployments: (c, [clusterId = "", verb, namespace = "", name = ""]) =>
    verb === "delete"
      ? c.deployments.delete.mutate({ clusterId, namespace, name })
      : c.deployments.list.query({ clusterId }),
  pods: (c, a) => c.pods.list.query({ clusterId: need(a, 1, "pods <clusterId>")[0] ?? "" }),
  events: (c, a) => c.events.list.query({ clusterId: need(a, 1, "events <clusterId>")[0] ?? "" }),
  usage: async (c, a, f) => {
    const [from = "", to = ""] = need(a, 2, "usage <from> <to> [--csv]");
    const usage = await c.usage.get.query({ from, to });
    return f.csv ? usageToCsv(usage) : usage;
  },
};

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    file: { type: "string", short: "f" },
    csv: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});
const [name, ...rest] = positionals;
const command = name ? commands[name] : undefined;
if (!command || values.help) {
  process.stdout.write(HELP);
  process.exit(command || values.help ? 0 : 2);
}
const client = createClient(cliEnv());
try {
  const out = await command(client, rest, values);
  console.log(typeof out === "string" ? out : JSON.stringify(out, null, 2));
} catch (error) {
  console.error(`error${errorCodeOf(error) ? ` ${errorCodeOf(error)}` : ""}: ${(error as Error).message}`);
  process.exit(1);
}
