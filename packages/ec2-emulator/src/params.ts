import { Ec2Error } from "./errors";

/**
 * EC2 Query API parameters: a flat map of form fields. Lists are `Name.N` (1-based), structures
 * in lists are `Name.N.Member`, nested as deep as needed (`TagSpecification.1.Tag.2.Key`).
 */
export type Params = Readonly<Record<string, string>>;

/** A structure taken out of a list, with the path used in error messages (`Filter.2`). */
export interface Member {
  path: string;
  params: Params;
}

/** Parses a form-encoded body (and the query string, for GET) into a prototype-free map. */
export function parseParams(...sources: string[]): Params {
  const out: Record<string, string> = Object.create(null);
  for (const source of sources) {
    for (const [key, value] of new URLSearchParams(source)) out[key] = value;
  }
  return out;
}

export function optional(params: Params, name: string): string | undefined {
  return Object.hasOwn(params, name) ? params[name] : undefined;
}

export function required(params: Params, name: string, path = name): string {
  const value = optional(params, name);
  if (value === undefined || value === "") {
    throw new Ec2Error("MissingParameter", `The request must contain the parameter ${path}`);
  }
  return value;
}

export function integer(
  params: Params,
  name: string,
  range: { min: number; max: number },
  path = name,
): number | undefined {
  const raw = optional(params, name);
  if (raw === undefined) return undefined;
  const value = /^-?\d{1,10}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw new Ec2Error(
      "InvalidParameterValue",
      `Invalid value '${raw}' for ${path}. It must be an integer between ${range.min} and ${range.max}.`,
    );
  }
  return value;
}

export function boolean(params: Params, name: string, path = name): boolean | undefined {
  const raw = optional(params, name);
  if (raw === undefined) return undefined;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new Ec2Error(
    "InvalidParameterValue",
    `Invalid value '${raw}' for ${path}. It must be true or false.`,
  );
}

/** The values of `Name.1`, `Name.2`, … in index order (gaps allowed, as EC2 allows them). */
export function list(params: Params, name: string): string[] {
  return indexed(params, name, (rest) => rest === "").map(([, key]) => params[key] ?? "");
}

/** The structures `Name.N.*`, each as its own parameter map, in index order. */
export function members(params: Params, name: string, pathPrefix = ""): Member[] {
  const groups = new Map<number, Record<string, string>>();
  for (const [index, key, rest] of indexed(params, name, (r) => r.startsWith("."))) {
    let group = groups.get(index);
    if (group === undefined) {
      group = Object.create(null) as Record<string, string>;
      groups.set(index, group);
    }
    group[rest.slice(1)] = params[key] ?? "";
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, group]) => ({ path: `${pathPrefix}${name}.${index}`, params: group }));
}

export interface Filter {
  name: string;
  values: string[];
}

/** `Filter.N.Name` / `Filter.N.Value.M`. */
export function filters(params: Params): Filter[] {
  return members(params, "Filter").map((m) => ({
    name: required(m.params, "Name", `${m.path}.Name`),
    values: list(m.params, "Value"),
  }));
}

export interface TagParam {
  key: string;
  value: string;
}

/** `<prefix>Tag.N.Key` / `.Value`; a missing Value is the empty string, as in EC2. */
export function tags(params: Params, pathPrefix = ""): TagParam[] {
  return members(params, "Tag", pathPrefix).map((m) => {
    const key = required(m.params, "Key", `${m.path}.Key`);
    if (key.toLowerCase().startsWith("aws:")) {
      throw new Ec2Error(
        "InvalidParameterValue",
        `Tag keys starting with 'aws:' are reserved (${m.path}.Key)`,
      );
    }
    return { key, value: optional(m.params, "Value") ?? "" };
  });
}

function indexed(
  params: Params,
  name: string,
  restOk: (rest: string) => boolean,
): [index: number, key: string, rest: string][] {
  const out: [number, string, string][] = [];
  const prefix = `${name}.`;
  for (const key of Object.keys(params)) {
    if (!key.startsWith(prefix)) continue;
    const match = /^(\d{1,6})(.*)$/.exec(key.slice(prefix.length));
    if (match === null) continue;
    const index = Number(match[1]);
    const rest = match[2] ?? "";
    if (index >= 1 && restOk(rest)) out.push([index, key, rest]);
  }
  return out.sort(([a], [b]) => a - b);
}
