import { Ec2Error } from "./errors";
import type { Filter } from "./params";
import type { Instance } from "./store";
import { STATE_CODES } from "./types";

type Field = (i: Instance) => readonly (string | undefined)[];

/** The DescribeInstances / DescribeInstanceStatus filters the emulator knows, by EC2 name. */
const INSTANCE_FIELDS: Record<string, Field> = {
  "instance-id": (i) => [i.instanceId],
  "instance-state-name": (i) => [i.state],
  "instance-state-code": (i) => [String(STATE_CODES[i.state])],
  "client-token": (i) => [i.clientToken],
  "tag-key": (i) => [...i.tags.keys()],
  "tag-value": (i) => [...i.tags.values()],
  "instance-type": (i) => [i.instanceType],
  "image-id": (i) => [i.imageId],
  "subnet-id": (i) => [i.subnetId],
  "reservation-id": (i) => [i.reservationId],
  "availability-zone": (i) => [i.availabilityZone],
  "private-ip-address": () => ["127.0.0.1"],
  "instance.group-id": (i) => i.securityGroupIds,
};

function field(name: string): Field {
  if (name.startsWith("tag:") && name.length > 4) {
    const key = name.slice(4);
    return (i) => [i.tags.get(key)];
  }
  const known = Object.hasOwn(INSTANCE_FIELDS, name) ? INSTANCE_FIELDS[name] : undefined;
  if (known === undefined) throw new Ec2Error("InvalidParameterValue", `The filter '${name}' is invalid`);
  return known;
}

/** EC2 filter values take `*` and `?` wildcards; `\` escapes them. */
export function valueMatcher(pattern: string): (value: string) => boolean {
  if (!/[*?]/.test(pattern)) return (value) => value === pattern;
  let source = "";
  for (let k = 0; k < pattern.length; k++) {
    const c = pattern.charAt(k);
    if (c === "\\" && k + 1 < pattern.length) source += escapeRegExp(pattern.charAt(++k));
    else if (c === "*") source += "[\\s\\S]*";
    else if (c === "?") source += "[\\s\\S]";
    else source += escapeRegExp(c);
  }
  const re = new RegExp(`^${source}$`);
  return (value) => re.test(value);
}

const escapeRegExp = (c: string) => c.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");

/**
 * One predicate for a list of filters: every filter must match (AND), and a filter matches when
 * any of its values matches any of the instance's values for that field (OR), as in EC2.
 * Unknown filter names are rejected up front, as EC2 does.
 */
export function instanceFilter(filters: readonly Filter[]): (i: Instance) => boolean {
  const compiled = filters.map((f) => ({ field: field(f.name), matchers: f.values.map(valueMatcher) }));
  return (i) =>
    compiled.every(({ field: get, matchers }) => {
      const values = get(i).filter((v): v is string => v !== undefined);
      return matchers.some((m) => values.some(m));
    });
}
