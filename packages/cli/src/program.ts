import { Command, CommanderError } from "commander";
import { registerAccount } from "./commands/account";
import { registerApply } from "./commands/apply";
import { registerInvoices, registerTop } from "./commands/billing";
import { registerBudgets } from "./commands/budgets";
import { registerClusters } from "./commands/clusters";
import { registerCompletion } from "./commands/completion";
import { registerConfig } from "./commands/config";
import { registerGet } from "./commands/get";
import { registerIam } from "./commands/iam";
import { registerPods } from "./commands/pods";
import { registerRollout } from "./commands/rollout";
import { registerSession } from "./commands/session";
import { registerUsage } from "./commands/usage";
import type { CliEnv } from "./env";
import { CliError, EXIT, errorLine } from "./errors";
import { type Io, Runtime } from "./runtime";

export const VERSION = "0.1.0";

/** The whole command tree; `rt` is what its actions share. */
export function buildProgram(rt: Runtime): Command {
  const program = new Command("berth")
    .description("Berth's command line: clusters, nodes and Kubernetes-shaped workloads, like kubectl")
    .version(VERSION, "--version")
    .option("--context <name>", "the context of the config file to use (default: its current context)")
    .option("--cluster <name|id>", "the cluster to work in (default: the context's)")
    .option("-n, --namespace <namespace>", "the namespace (default: the context's, else default)")
    .exitOverride()
    .showHelpAfterError()
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: (s) => rt.io.stdout.write(s),
      writeErr: (s) => rt.io.stderr.write(s),
    })
    .addHelpText(
      "after",
      "\nExit codes: 0 ok, 1 an error (the API's code and message on stderr), 2 a usage error;\n`berth diff`: 0 no differences, 1 differences, 3 an error.",
    );
  program.hook("preAction", async (_root, action) => {
    const o = action.optsWithGlobals() as { context?: string; cluster?: string; namespace?: string };
    rt.given = {
      ...(o.context !== undefined ? { context: o.context } : {}),
      ...(o.cluster !== undefined ? { cluster: o.cluster } : {}),
      ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
    };
    rt.globals = {
      ...(o.context ? { context: o.context } : {}),
      ...(o.cluster ? { cluster: o.cluster } : {}),
      ...(o.namespace ? { namespace: o.namespace } : {}),
    };
    if (!o.namespace) {
      const namespace = await rt
        .context()
        .then((c) => c.namespace)
        .catch(() => undefined);
      if (namespace) rt.globals.namespace = namespace;
    }
  });
  registerSession(program, rt);
  registerConfig(program, rt);
  registerClusters(program, rt);
  registerGet(program, rt);
  registerApply(program, rt);
  registerPods(program, rt);
  registerRollout(program, rt);
  registerIam(program, rt);
  registerAccount(program, rt);
  registerUsage(program, rt);
  registerTop(program, rt);
  registerInvoices(program, rt);
  registerBudgets(program, rt);
  registerCompletion(program, rt);
  return program;
}

/** Runs one command line (without `node berth`) and returns its exit code; never throws. */
export async function run(argv: readonly string[], env: CliEnv, io: Io): Promise<number> {
  const rt = new Runtime(env, io);
  const program = buildProgram(rt);
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT.usage;
    }
    await program.parseAsync([...argv], { from: "user" });
    return rt.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end with code 0; every other parse failure is a usage error.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    io.stderr.write(`${errorLine(error)}\n`);
    if (error instanceof CliError)
      return rt.diffMode && error.exitCode === EXIT.error ? EXIT.diffError : error.exitCode;
    return rt.diffMode ? EXIT.diffError : EXIT.error;
  }
}
