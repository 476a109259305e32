import { ValidationError } from "@berth/core";
import { isLabelKey } from "@berth/protocol";
import type { LabelSelector } from "./kinds/common";

const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

function fail(message: string): never {
  throw new ValidationError(`labelSelector: ${message}`, [{ path: "labelSelector", message }]);
}

/** Splits on commas that are not inside parentheses (`env in (a,b),tier=web`). */
function requirements(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === "," && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
    if (depth < 0 || depth > 1) fail("unbalanced parentheses");
  }
  if (depth !== 0) fail("unbalanced parentheses");
  out.push(text.slice(start));
  return out.map((s) => s.trim());
}

const key = (k: string): string => {
  if (!isLabelKey(k)) fail(`${JSON.stringify(k.slice(0, 64))} is not a label key`);
  return k;
};
const value = (v: string): string => {
  if (!VALUE.test(v)) fail(`${JSON.stringify(v.slice(0, 64))} is not a label value`);
  return v;
};

/**
 * A label selector in Kubernetes' query syntax (`?labelSelector=`): `app=web`, `app==web`,
 * `tier!=db`, `env in (a,b)`, `env notin (c)`, `release` (exists), `!canary` (does not exist),
 * joined by commas (all must hold).
 */
export function parseLabelSelector(text: string): LabelSelector {
  if (text.length > 1024) fail("is longer than 1024 characters");
  const matchLabels: Record<string, string> = {};
  const matchExpressions: NonNullable<LabelSelector["matchExpressions"]> = [];
  const notEqual: { key: string; value: string }[] = [];
  if (text.trim() === "") return {};
  for (const req of requirements(text)) {
    if (req === "") fail("an empty requirement");
    let m = /^(\S+?)\s*(==|=|!=)\s*(\S*)$/.exec(req);
    if (m) {
      const [, k = "", op, v = ""] = m;
      if (op === "!=") notEqual.push({ key: key(k), value: value(v) });
      else matchLabels[key(k)] = value(v);
      continue;
    }
    m = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(req);
    if (m) {
      const [, k = "", op, list = ""] = m;
      const values = list.split(",").map((v) => value(v.trim()));
      if (values.length > 64) fail("at most 64 values in a set");
      matchExpressions.push({ key: key(k), operator: op === "in" ? "In" : "NotIn", values });
      continue;
    }
    m = /^(!?)\s*(\S+)$/.exec(req);
    if (m) {
      const [, not, k = ""] = m;
      matchExpressions.push({ key: key(k), operator: not ? "DoesNotExist" : "Exists" });
      continue;
    }
    fail(
      `${JSON.stringify(req.slice(0, 64))} is not a requirement (key=value, key!=value, key in (…), key, !key)`,
    );
  }
  for (const n of notEqual) matchExpressions.push({ key: n.key, operator: "NotIn", values: [n.value] });
  if (matchExpressions.length > 16) fail("at most 16 requirements besides equalities");
  return {
    ...(Object.keys(matchLabels).length > 0 ? { matchLabels } : {}),
    ...(matchExpressions.length > 0 ? { matchExpressions } : {}),
  };
}
