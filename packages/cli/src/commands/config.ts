import type { Command } from "commander";
import { stringify } from "yaml";
import { type Context, setContext, useContext } from "../config";
import { table } from "../output";
import type { Runtime } from "../runtime";

/** A context as `config view` shows it: credentials named, never shown. */
const redacted = (c: Context) => ({
  ...c,
  ...(c.credentials
    ? {
        credentials: Object.fromEntries(
          Object.entries(c.credentials).map(([k, v]) => [
            k,
            k === "email" || k === "accessTokenExpiresAt" ? v : "REDACTED",
          ]),
        ),
      }
    : {}),
});

export function registerConfig(program: Command, rt: Runtime): void {
  const config = program
    .command("config")
    .description(
      `the config file's contexts (server, credentials, default cluster and namespace); file: ${rt.env.configPath}`,
    );

  config
    .command("get-contexts")
    .description("list the contexts; * marks the current one")
    .action(async () => {
      const c = await rt.config();
      rt.print(
        table(
          ["current", "name", "server", "cluster", "namespace", "user"],
          c.contexts.map((x) => [
            // A blank, not "<none>": only the current context is marked.
            x.name === c.currentContext ? "*" : " ",
            x.name,
            x.server,
            x.cluster,
            x.namespace,
            x.credentials?.email ?? (x.credentials?.apiKey ? "(api key)" : ""),
          ]),
        ),
      );
    });

  config
    .command("current-context")
    .description("the current context's name")
    .action(async () => {
      rt.print((await rt.context()).name);
    });

  config
    .command("use-context <name>")
    .description("make a context the current one")
    .action(async (name: string) => {
      await rt.saveConfig(useContext(await rt.config(), name));
      rt.print(`Switched to context "${name}".`);
    });

  config
    .command("set-context [name]")
    .description('create or change a context (default: the current one); "" unsets a field')
    .option("--server <url>", "the Berth API")
    .addHelpText(
      "after",
      "\n--cluster <name|id> and -n, --namespace <namespace> (the global flags) set its defaults.",
    )
    .action(async (name: string | undefined, opts: { server?: string }) => {
      // --cluster and --namespace are the program's own flags: what was given on this command line.
      const o = { ...opts, ...rt.given };
      const target = name ?? (await rt.context()).name;
      const patch = {
        ...(o.server !== undefined ? { server: o.server } : {}),
        ...(o.cluster !== undefined ? { cluster: o.cluster } : {}),
        ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
      };
      const current = await rt.config();
      const { config: next } = setContext(current, target, patch);
      await rt.saveConfig(next.currentContext ? next : { ...next, currentContext: target });
      rt.print(
        `Context "${target}" ${current.contexts.some((c) => c.name === target) ? "modified" : "created"}.`,
      );
    });

  config
    .command("delete-context <name>")
    .description("remove a context")
    .action(async (name: string) => {
      const c = await rt.config();
      useContext(c, name); // fails when it does not exist
      await rt.saveConfig({
        contexts: c.contexts.filter((x) => x.name !== name),
        ...(c.currentContext && c.currentContext !== name ? { currentContext: c.currentContext } : {}),
      });
      rt.print(`deleted context ${name}`);
    });

  config
    .command("view")
    .description("the config file, credentials redacted")
    .action(async () => {
      const c = await rt.config();
      rt.print(stringify({ ...c, contexts: c.contexts.map(redacted) }));
    });
}
