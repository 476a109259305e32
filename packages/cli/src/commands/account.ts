import type { Command } from "commander";
import { collect, keyValues } from "../args";
import type { Json } from "../json";
import { formatOf, outputOption } from "../options";
import { structured } from "../output";
import type { Runtime } from "../runtime";

/** The tenant (the account itself), the IAM policy simulator and a Secret's values. */
export function registerAccount(program: Command, rt: Runtime): void {
  const tenant = program.command("tenant").description("the account: its settings, and closing it");
  tenant
    .command("get")
    .description("the tenant's id, name, status and allowed image prefixes")
    .addOption(outputOption())
    .action(async (o: { output?: string }) => {
      const t = (await (await rt.client()).tenant.get.query({})) as Json;
      rt.print(structured(t, formatOf(o)) ?? structured(t, "yaml") ?? "");
    });
  tenant
    .command("set-image-prefixes [prefixes...]")
    .description("the image prefixes its pods may use (none given: the platform's list)")
    .action(async (prefixes: string[]) => {
      await (await rt.client()).tenant.update.mutate({
        allowedImagePrefixes: prefixes.length ? prefixes : null,
      });
      rt.print(
        prefixes.length
          ? `allowed image prefixes: ${prefixes.join(", ")}`
          : "allowed image prefixes: the platform's",
      );
    });
  tenant
    .command("close")
    .description("close the account: everyone is locked out, its clusters are deleted, its data erased later")
    .requiredOption("--confirm <tenant name>", "the tenant's name, typed again")
    .action(async (o: { confirm: string }) => {
      await (await rt.client()).tenant.close.mutate({ confirm: o.confirm });
      rt.print(`tenant ${o.confirm} closed`);
    });

  program
    .command("simulate")
    .description("would a principal be allowed an action on a resource, and which statement decides")
    .requiredOption("--principal <id>", "a user or service account")
    .requiredOption("--action <action>", "cluster:Delete, …")
    .requiredOption("--resource <brn>", "brn:berth:<tenant>:cluster/<id>, …")
    .option(
      "--condition <key=value>",
      "a condition key's value to simulate, e.g. berth:SourceIp=10.0.0.1 (repeatable)",
      collect,
    )
    .addOption(outputOption())
    .action(
      async (o: {
        principal: string;
        action: string;
        resource: string;
        condition?: string[];
        output?: string;
      }) => {
        const r = await (await rt.client()).iam.simulate.mutate({
          principalId: o.principal,
          action: o.action,
          resource: o.resource,
          ...(o.condition ? { context: keyValues(o.condition, "--condition") } : {}),
        });
        rt.print(structured(r, formatOf(o)) ?? structured(r, "yaml") ?? "");
      },
    );

  program
    .command("reveal-secret <name>")
    .description("a Secret with its values (base64), which every other read hides; always audited")
    .addOption(outputOption())
    .action(async (name: string, o: { output?: string }) => {
      const [client, clusterId] = [await rt.client(), await rt.clusterId()];
      const s = await client.secrets.reveal.query({ clusterId, namespace: rt.namespace(), name });
      rt.print(structured(s, formatOf(o)) ?? structured(s, "yaml") ?? "");
    });
}
