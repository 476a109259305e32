import { type ContextValue, isPresent } from "../context";
import type { Resolve } from "../template";
import type { ConditionBlock } from "../types";
import { compileBoolTest } from "./bool";
import { compileDateTest } from "./date";
import { compileIpTest } from "./ip";
import { compileNumericTest } from "./numeric";
import { type BaseOperator, parseOperatorName, type SetOperator } from "./operators";
import { compileStringTest } from "./string";
import type { ValueTest } from "./value-test";

/** One `operator → key → values` entry of a Condition block, ready to evaluate. */
export type CompiledCondition =
  | { readonly kind: "unknown-operator" }
  | { readonly kind: "null"; readonly key: string; readonly absent: readonly boolean[] }
  | {
      readonly kind: "test";
      readonly key: string;
      readonly set: SetOperator | null;
      readonly ifExists: boolean;
      readonly negated: boolean;
      readonly test: ValueTest;
    };

/** Condition values as strings: AWS compares JSON numbers and booleans by their text. */
export function conditionValues(raw: unknown): string[] {
  const list: readonly unknown[] = Array.isArray(raw) ? raw : [raw];
  return list.map(String);
}

/** The value test of every operator but Null (which tests presence, not values). */
function compileTest(base: Exclude<BaseOperator, { family: "Null" }>, values: readonly string[]): ValueTest {
  switch (base.family) {
    case "String":
      return compileStringTest(base.comparison, values);
    case "Numeric":
      return compileNumericTest(base.comparison, values);
    case "Date":
      return compileDateTest(base.comparison, values);
    case "Bool":
      return compileBoolTest(values);
    case "IpAddress":
      return compileIpTest(values);
  }
}

const UNKNOWN: CompiledCondition = { kind: "unknown-operator" };

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Compiles a Condition block. Condition keys are lower-cased (AWS: key names are
 * case-insensitive). What cannot be read — an operator Berth does not know, a block or an
 * operator's entry that is not an object — compiles to a condition that is never true, so the
 * statement does not apply. The parser rejects such documents; this guards documents built by hand.
 */
export function compileConditions(block: ConditionBlock | undefined): CompiledCondition[] {
  if (block === undefined) return [];
  if (!isObject(block)) return [UNKNOWN];
  const out: CompiledCondition[] = [];
  for (const [operatorName, entries] of Object.entries(block)) {
    const operator = parseOperatorName(operatorName);
    if (operator === null || !isObject(entries)) {
      out.push(UNKNOWN);
      continue;
    }
    const { base } = operator;
    for (const [key, raw] of Object.entries(entries)) {
      const values = conditionValues(raw);
      if (base.family === "Null") {
        // `Null: true` means "the key is absent", `false` "the key is present"; anything else matches nothing.
        const absent = values.map((v) => v.toLowerCase()).filter((v) => v === "true" || v === "false");
        out.push({ kind: "null", key: key.toLowerCase(), absent: absent.map((v) => v === "true") });
        continue;
      }
      out.push({
        kind: "test",
        key: key.toLowerCase(),
        set: operator.set,
        ifExists: operator.ifExists,
        negated: base.negated,
        test: compileTest(base, values),
      });
    }
  }
  return out;
}

/**
 * Whether one condition holds for the request, following AWS:
 * - a missing key makes a positive operator false and a negated one true ("Condition
 *   operators", Important box), unless the operator ends in `IfExists`, which is then true;
 * - negated operators are the negation of their positive form, so several values are NOR'ed
 *   ("Evaluation logic for negated matching condition operators");
 * - `ForAllValues:` is true when every request value passes (and when the key is missing or
 *   empty), `ForAnyValue:` when at least one does (false when missing or empty) — "Set
 *   operators for multivalued context keys". With a set prefix, `IfExists` changes nothing:
 *   the prefix already decides the missing-key case, and `ForAnyValue:…IfExists` on a missing
 *   key is false, as AWS behaves (see the package README);
 * - without a set prefix, a multivalued request value passes a positive operator when any of
 *   its values does.
 */
export function conditionHolds(
  condition: CompiledCondition,
  context: ReadonlyMap<string, ContextValue>,
  resolve: Resolve,
): boolean {
  if (condition.kind === "unknown-operator") return false;
  const value = context.get(condition.key);
  const present = isPresent(value);
  if (condition.kind === "null") return condition.absent.some((absent) => absent !== present);
  const { test, negated, set } = condition;
  if (set !== null) {
    if (!present) return set === "ForAllValues";
    if (typeof value === "string") return test(value, resolve) !== negated;
    // ForAllValues: every value passes; ForAnyValue: one does. A value passes when it matches
    // (positive operator) or matches none of the policy values (negated operator).
    const all = set === "ForAllValues";
    for (const v of value) {
      if (test(v, resolve) !== negated) {
        if (!all) return true;
      } else if (all) {
        return false;
      }
    }
    return all;
  }
  if (!present) return condition.ifExists || negated;
  if (typeof value === "string") return test(value, resolve) !== negated;
  for (const v of value) {
    if (test(v, resolve)) return !negated;
  }
  return negated;
}

export function allConditionsHold(
  conditions: readonly CompiledCondition[],
  context: ReadonlyMap<string, ContextValue>,
  resolve: Resolve,
): boolean {
  for (const condition of conditions) {
    if (!conditionHolds(condition, context, resolve)) return false;
  }
  return true;
}
