import Table from "cli-table3";
import { stringify } from "yaml";
import { UsageError } from "./errors";

/** `-o`: an aligned table (the default), a wider one, the objects as JSON or YAML, or `kind/name`. */
export type Format = "table" | "wide" | "json" | "yaml" | "name";
const FORMATS: readonly Format[] = ["wide", "json", "yaml", "name"];

export function parseFormat(value: string | undefined): Format {
  if (value === undefined || value === "") return "table";
  if ((FORMATS as readonly string[]).includes(value)) return value as Format;
  throw new UsageError(`-o ${value}: unknown output format (one of ${FORMATS.join(", ")})`);
}

/** One column of a table: its heading, whether only `-o wide` shows it, and its cell. */
export interface Column<T> {
  header: string;
  wide?: boolean;
  value: (item: T, now: Date) => string | number | boolean | null | undefined;
}

/** kubectl's borderless table: columns left-aligned, three spaces apart, headings in capitals. */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const t = new Table({
    head: headers.map((h) => h.toUpperCase()),
    chars: {
      top: "",
      "top-mid": "",
      "top-left": "",
      "top-right": "",
      bottom: "",
      "bottom-mid": "",
      "bottom-left": "",
      "bottom-right": "",
      left: "",
      "left-mid": "",
      mid: "",
      "mid-mid": "",
      right: "",
      "right-mid": "",
      middle: "",
    },
    style: { "padding-left": 0, "padding-right": 3, head: [], border: [], compact: true },
  });
  for (const row of rows)
    t.push(row.map((v) => (v === null || v === undefined || v === "" ? "<none>" : String(v))));
  return `${t
    .toString()
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")}\n`;
}

/** Items as `-o` asks: the table of `columns`, JSON or YAML (a `List` for many), or `kind/name` lines. */
export function render<T>(
  items: readonly T[],
  opts: {
    format: Format;
    columns: readonly Column<T>[];
    nameOf: (item: T) => string;
    /** One object (a `get <kind> <name>`): JSON and YAML print it rather than a List. */
    single?: boolean;
    now?: Date;
  },
): string {
  const { format } = opts;
  if (format === "json" || format === "yaml") {
    const value = opts.single && items.length === 1 ? items[0] : { apiVersion: "v1", kind: "List", items };
    return format === "json" ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
  }
  if (format === "name") return items.map((i) => `${opts.nameOf(i)}\n`).join("");
  if (items.length === 0) return "";
  const now = opts.now ?? new Date();
  const columns = opts.columns.filter((c) => format === "wide" || !c.wide);
  return table(
    columns.map((c) => c.header),
    items.map((i) => columns.map((c) => c.value(i, now))),
  );
}

/** A value as JSON or YAML when `-o json|yaml`, else `undefined` (the caller prints its own text). */
export function structured(value: unknown, format: Format): string | undefined {
  if (format === "json") return `${JSON.stringify(value, null, 2)}\n`;
  if (format === "yaml") return stringify(value);
  return undefined;
}

/** Age as kubectl prints it: `45s`, `5m30s`, `3h`, `2d4h`, `10d`, `2y`. */
export function age(since: string | Date | null | undefined, now: Date = new Date()): string {
  if (!since) return "<unknown>";
  const seconds = Math.max(0, Math.floor((now.getTime() - new Date(since).getTime()) / 1000));
  const m = Math.floor(seconds / 60);
  const h = Math.floor(m / 60);
  const d = Math.floor(h / 24);
  if (seconds < 120) return `${seconds}s`;
  if (m < 10) return seconds % 60 ? `${m}m${seconds % 60}s` : `${m}m`;
  if (h < 3) return `${m}m`;
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (d < 2) return `${h}h`;
  if (d < 8) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

/** `key=value,key=value` of labels or selectors; `<none>` when empty. */
export function labels(map: Record<string, string> | null | undefined): string {
  const entries = Object.entries(map ?? {});
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(",") : "<none>";
}
