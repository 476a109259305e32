import type { Json } from "../json";
import { type Column, type Format, render } from "../output";
import { nameOf, type Resource } from "../resources";
import type { Runtime } from "../runtime";

/** What a list of things prints with: its plural (for "No … found."), its table and its `-o name`. */
export interface Listing {
  plural: string;
  columns: readonly Column<Json>[];
  nameOf: (item: Json) => string;
}

/** Prints items as `-o` asks (a table by default); `No … found.` on stderr when there are none. */
export function showRows(
  rt: Runtime,
  listing: Listing,
  items: readonly Json[],
  format: Format,
  single = false,
): void {
  if (items.length === 0 && (format === "table" || format === "wide")) {
    rt.note(`No ${listing.plural} found.`);
    return;
  }
  rt.print(render(items, { format, columns: listing.columns, nameOf: listing.nameOf, single }));
}

/** Objects of a kind `get` knows. */
export function show(
  rt: Runtime,
  resource: Resource,
  items: readonly Json[],
  format: Format,
  single = false,
): void {
  const listing = {
    plural: resource.names[0] ?? resource.kind,
    columns: resource.columns,
    nameOf: (i: Json) => nameOf(resource, i),
  };
  showRows(rt, listing, items, format, single);
}
