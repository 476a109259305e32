import type { Json } from "../json";
import { type Format, render } from "../output";
import { nameOf, type Resource } from "../resources";
import type { Runtime } from "../runtime";

/** Prints objects of a kind as `-o` asks (a table by default); `No resources found` when none. */
export function show(
  rt: Runtime,
  resource: Resource,
  items: readonly Json[],
  format: Format,
  single = false,
): void {
  if (items.length === 0 && (format === "table" || format === "wide")) {
    rt.note(`No ${resource.names[0]} found.`);
    return;
  }
  rt.print(render(items, { format, columns: resource.columns, nameOf: (i) => nameOf(resource, i), single }));
}
