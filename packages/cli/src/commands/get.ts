import { KINDS, readDocuments } from "@berth/kube";
import type { Command } from "commander";
import { collect } from "../args";
import { CliError, errorLine, UsageError } from "../errors";
import { at, type Json, str } from "../json";
import { readManifests } from "../manifests";
import { formatOf, outputOption } from "../options";
import { render, table } from "../output";
import { nameOf, RESOURCES, type Resource, resourceNamed } from "../resources";
import type { Runtime } from "../runtime";
import { describe } from "./describe";
import { show } from "./show";

/** `pods`, `pods web-1`, `pod/web-1`: the kind and the names asked for. */
export function target(kind: string, names: readonly string[]): { resource: Resource; names: string[] } {
  const slash = kind.indexOf("/");
  if (slash > 0) {
    if (names.length)
      throw new UsageError(
        `there is no need to specify a resource type as a separate argument when passing arguments in resource/name form`,
      );
    return { resource: resourceNamed(kind.slice(0, slash)), names: [kind.slice(slash + 1)] };
  }
  return { resource: resourceNamed(kind), names: [...names] };
}

interface GetOptions {
  output?: string;
  selector?: string;
  allNamespaces?: boolean;
  watch?: boolean;
  interval: string;
}

/**
 * `get -w`, as kubectl prints it: the list once, then each object again whenever it changes or goes (rows
 * without the heading; one document per object for -o json|yaml). The API has no watch for
 * tenants, so this polls every `--interval` seconds.
 */
async function watch(rt: Runtime, resource: Resource, list: () => Promise<Json[]>, o: GetOptions) {
  const format = formatOf(o);
  const seen = new Map<string, { json: string; item: Json }>();
  for (let first = true; ; first = false) {
    const items = await list();
    const names = new Set(items.map((i) => nameOf(resource, i)));
    // Objects gone since the last look are printed once more, as they were (kubectl's DELETED event).
    const gone = [...seen].filter(([name]) => !names.has(name)).map(([, v]) => v.item);
    for (const i of gone) seen.delete(nameOf(resource, i));
    const changed = items.filter((i) => seen.get(nameOf(resource, i))?.json !== JSON.stringify(i));
    for (const i of changed) seen.set(nameOf(resource, i), { json: JSON.stringify(i), item: i });
    changed.push(...gone);
    if (changed.length > 0 || first) {
      const opts = { columns: resource.columns, nameOf: (i: Json) => nameOf(resource, i) };
      if (format === "json" || format === "yaml")
        for (const i of changed) rt.print(render([i], { ...opts, format, single: true }));
      else {
        const text = render(changed, { ...opts, format });
        // After the first list, only rows: the heading was printed once.
        rt.print(first || format === "name" ? text : text.slice(text.indexOf("\n") + 1));
      }
    }
    await new Promise((ok) => setTimeout(ok, Number(o.interval) * 1000));
  }
}

export function registerGet(program: Command, rt: Runtime): void {
  program
    .command("get <kind> [names...]")
    .description("list objects of a kind, or get some by name (see `berth api-resources` for the kinds)")
    .addOption(outputOption())
    .option("-l, --selector <selector>", "a label selector (app=web,tier!=cache)")
    .option("-A, --all-namespaces", "every namespace")
    .option("-w, --watch", "print the list again whenever it changes (Ctrl-C stops)")
    .option("--interval <seconds>", "how often --watch looks", "2")
    .action(async (kind: string, given: string[], o: GetOptions) => {
      const { resource, names } = target(kind, given);
      const namespace = resource.scope === "namespaced" && !o.allNamespaces ? rt.namespace() : undefined;
      if (names.length) {
        const items = await Promise.all(
          names.map((name) => resource.get(rt, { namespace: namespace ?? rt.namespace(), name })),
        );
        return show(rt, resource, items, formatOf(o), items.length === 1);
      }
      const list = () =>
        resource.list(rt, {
          ...(namespace ? { namespace } : {}),
          ...(o.selector ? { labelSelector: o.selector } : {}),
        });
      if (o.watch) return watch(rt, resource, list, o);
      show(rt, resource, await list(), formatOf(o));
    });

  program
    .command("describe <kind> [names...]")
    .description("an object in detail, with its events (and the scheduler's reasons for a pod that waits)")
    .action(async (kind: string, given: string[]) => {
      const { resource, names } = target(kind, given);
      if (names.length === 0) throw new UsageError("describe needs a name: berth describe <kind> <name>");
      for (const [i, name] of names.entries()) {
        if (i > 0) rt.print("\n");
        rt.print(await describe(rt, resource, await resource.get(rt, { namespace: rt.namespace(), name })));
      }
    });

  program
    .command("delete [kind] [names...]")
    .description("delete objects by kind and name, or those of manifests (-f)")
    .option("-f, --filename <path>", "the objects of a manifest file, directory or - (repeatable)", collect)
    .option("-R, --recursive", "read the directories of -f recursively")
    .option("--ignore-not-found", "an object that does not exist is not an error")
    .action(
      async (
        kind: string | undefined,
        given: string[],
        o: { filename?: string[]; recursive?: boolean; ignoreNotFound?: boolean },
      ) => {
        const work: { resource: Resource; namespace: string; name: string }[] = [];
        if (o.filename) {
          if (kind) throw new UsageError("give either -f or a kind and names, not both");
          const docs = readDocuments(await readManifests(rt.io, o.filename, o.recursive), "yaml") as Json[];
          for (const d of docs) {
            const k = str(d.kind);
            if (!(k in KINDS))
              throw new CliError(`${k || "a document without kind"}: not a kind Berth serves`);
            work.push({
              resource: resourceNamed(k),
              namespace: str(at(d, "metadata.namespace"), rt.namespace()),
              name: str(at(d, "metadata.name")),
            });
          }
        } else {
          if (!kind) throw new UsageError("delete needs -f, or a kind and names");
          const t = target(kind, given);
          if (t.names.length === 0) throw new UsageError(`delete ${kind} needs a name`);
          for (const name of t.names) work.push({ resource: t.resource, namespace: rt.namespace(), name });
        }
        let failed = false;
        // Manifests list what others need first (a namespace, then what goes into it): undo them last to first.
        if (o.filename) work.reverse();
        for (const w of work) {
          if (!w.resource.delete) throw new UsageError(`${w.resource.names[0]} cannot be deleted`);
          try {
            await w.resource.delete(rt, w);
            rt.print(`${w.resource.kind.toLowerCase()}/${w.name} deleted`);
          } catch (error) {
            if (o.ignoreNotFound && /NOT_FOUND/.test(errorLine(error))) continue;
            rt.io.stderr.write(`${errorLine(error)}\n`);
            failed = true;
          }
        }
        if (failed) rt.exitCode = 1;
      },
    );

  program
    .command("api-resources")
    .description("the kinds get, describe and delete know, with their short names")
    .action(() => {
      rt.print(
        table(
          ["name", "shortnames", "namespaced", "kind"],
          RESOURCES.map((r) => [
            r.names[0],
            r.names.slice(1).join(","),
            String(r.scope === "namespaced"),
            r.kind,
          ]),
        ),
      );
    });
}
