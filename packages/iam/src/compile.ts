import { type CompiledCondition, compileConditions } from "./conditions/condition";
import type { Effect, PolicyDocument, Statement } from "./types";
import { compileGlob, type Glob } from "./wildcard";

/** `Action`/`NotAction` or `Resource`/`NotResource`, compiled: `not` marks the Not form. */
export interface CompiledPatterns {
  readonly not: boolean;
  readonly globs: readonly Glob[];
}

export interface CompiledStatement {
  readonly index: number;
  readonly sid: string | undefined;
  readonly effect: Effect;
  readonly actions: CompiledPatterns;
  readonly resources: CompiledPatterns;
  readonly conditions: readonly CompiledCondition[];
}

function list(value: unknown): string[] {
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function patterns(positive: unknown, negative: unknown, foldCase: boolean): CompiledPatterns {
  // A hand-built statement with both forms or neither is nonsense; both compile to "matches
  // nothing" (an empty positive list), so such a statement never applies.
  const usePositive = positive !== undefined || negative === undefined;
  const source = usePositive ? (negative === undefined ? list(positive) : []) : list(negative);
  return { not: !usePositive, globs: source.map((p) => compileGlob(p, foldCase)) };
}

function compileStatement(statement: Statement, index: number): CompiledStatement {
  return {
    index,
    sid: statement.Sid,
    effect: statement.Effect,
    // AWS matches action names case-insensitively ("IAM JSON policy elements: Action").
    actions: patterns(statement.Action, statement.NotAction, true),
    resources: patterns(statement.Resource, statement.NotResource, false),
    conditions: compileConditions(statement.Condition),
  };
}

/**
 * Compiled documents, by identity: each document is compiled once, however many requests it
 * judges. Documents are treated as immutable (`parsePolicyDocument` and the managed policies
 * return frozen ones); mutating one after it was evaluated is not seen.
 */
const compiled = new WeakMap<PolicyDocument, readonly CompiledStatement[]>();

export function compileDocument(document: PolicyDocument): readonly CompiledStatement[] {
  if (typeof document !== "object" || document === null) return [];
  const hit = compiled.get(document);
  if (hit !== undefined) return hit;
  const raw: unknown = document.Statement;
  const statements: unknown[] = Array.isArray(raw) ? raw : [raw];
  // Guards documents that did not come through the parser: a non-object statement is skipped.
  const result = statements.flatMap((s, index) =>
    typeof s === "object" && s !== null ? [compileStatement(s as Statement, index)] : [],
  );
  compiled.set(document, result);
  return result;
}
