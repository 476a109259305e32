import type { Command } from "commander";
import { collect } from "../args";
import { EXIT } from "../errors";
import { readManifests } from "../manifests";
import { formatOf, outputOption } from "../options";
import { structured } from "../output";
import type { Runtime } from "../runtime";
import { waitForRollout } from "./rollout";

interface ApplyResult {
  dryRun: boolean;
  items: { kind: string; namespace: string | null; name: string; action: string; changedPaths?: string[] }[];
}

/** Sends the documents to the server's apply endpoint: all admitted, then all written or none. */
async function applyFiles(rt: Runtime, o: { filename?: string[]; recursive?: boolean }, dryRun: boolean) {
  const manifests = await readManifests(rt.io, o.filename ?? [], o.recursive);
  const [client, clusterId] = [await rt.client(), await rt.clusterId()];
  return (await client.clusters.applyManifests.mutate({ clusterId, manifests, dryRun })) as ApplyResult;
}

const ref = (i: ApplyResult["items"][number]) => `${i.kind.toLowerCase()}/${i.name}`;

/** kubectl's line per object: `configmap/app configured (data.GREETING)`. */
function applied(i: ApplyResult["items"][number], dryRun: boolean): string {
  const paths = i.action === "configured" && i.changedPaths?.length ? ` (${i.changedPaths.join(", ")})` : "";
  return `${ref(i)} ${i.action}${paths}${dryRun ? " (dry run)" : ""}`;
}

function fileOptions(cmd: Command): Command {
  return cmd
    .option(
      "-f, --filename <path>",
      "a manifest file, a directory of them, or - for stdin (repeatable)",
      collect,
    )
    .option("-R, --recursive", "read the directories of -f recursively");
}

export function registerApply(program: Command, rt: Runtime): void {
  fileOptions(
    program
      .command("apply")
      .description(
        "create or update the objects of manifests (multi-document YAML, JSON, List) in one transaction through the server's apply",
      ),
  )
    .option("--dry-run", "admit everything and report, write nothing")
    .option("--wait", "then wait (with progress) until the Deployments it changed have rolled out")
    .option("--timeout <duration>", "how long --wait waits for each", "5m")
    .addOption(outputOption())
    .action(
      async (o: {
        filename?: string[];
        recursive?: boolean;
        dryRun?: boolean;
        output?: string;
        wait?: boolean;
        timeout: string;
      }) => {
        const result = await applyFiles(rt, o, o.dryRun === true);
        const format = formatOf(o);
        const asData = structured(result, format);
        if (asData) rt.print(asData);
        else for (const i of result.items) rt.print(format === "name" ? ref(i) : applied(i, result.dryRun));
        if (!o.wait || result.dryRun) return;
        for (const i of result.items)
          if (i.kind === "Deployment" && i.action !== "unchanged")
            await waitForRollout(rt, i.namespace ?? rt.namespace(), i.name, o.timeout);
      },
    );

  fileOptions(
    program
      .command("diff")
      .description(
        "what apply would change (a server-side dry run): one line per object to create or change, with the changed fields; exit 0 no differences, 1 differences, 3 an error",
      ),
  ).action(async (o: { filename?: string[]; recursive?: boolean }) => {
    rt.diffMode = true;
    const result = await applyFiles(rt, o, true);
    let differences = 0;
    for (const i of result.items) {
      if (i.action === "unchanged") continue;
      differences++;
      const where = i.namespace ? ` -n ${i.namespace}` : "";
      if (i.action === "created") rt.print(`+ ${ref(i)}${where}: created`);
      else rt.print(`~ ${ref(i)}${where}: ${(i.changedPaths ?? []).join(", ") || "changed"}`);
    }
    rt.exitCode = differences > 0 ? EXIT.differences : EXIT.ok;
  });
}
