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

/** The strings of a string or a list; anything else a hand-built statement holds there is ignored. */
function list(value: unknown): string[] {
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === "string");
}

function patterns(positive: unknown, negative: unknown, foldCase: boolean): CompiledPatterns {
  // A hand-built statement with both forms or neither is nonsense; both compile to "matches
  // nothing" (an empty positive list), so such a statement never applies.
  const both = positive !== undefined && negative !== undefined;
  const not = positive === undefined && negative !== undefined;
  const texts = list(both ? undefined : not ? negative : positive);
  return { not, globs: texts.map((p) => compileGlob(p, foldCase)) };
}

/**
 * The Effect of a statement the evaluator can read, or null: a statement that is not an object,
 * or whose Effect is anything but exactly "Allow" or "Deny" (a hand-built `"allow"`, a missing
 * one), never applies — it can neither allow nor deny.
 */
function effectOf(statement: unknown): Effect | null {
  if (typeof statement !== "object" || statement === null) return null;
  const { Effect: effect } = statement as { readonly Effect?: unknown };
  return effect === "Allow" || effect === "Deny" ? effect : null;
}

function compileStatement(statement: Statement, effect: Effect, index: number): CompiledStatement {
  return {
    index,
    sid: statement.Sid,
    effect,
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

/** A document's statements that can apply, compiled; statements keep their index in the document. */
export function compileDocument(document: PolicyDocument): readonly CompiledStatement[] {
  if (typeof document !== "object" || document === null) return [];
  const hit = compiled.get(document);
  if (hit !== undefined) return hit;
  const raw: unknown = document.Statement;
  const statements: unknown[] = Array.isArray(raw) ? raw : [raw];
  // Guards documents that did not come through the parser.
  const result = statements.flatMap((s, index) => {
    const effect = effectOf(s);
    return effect === null ? [] : [compileStatement(s as Statement, effect, index)];
  });
  compiled.set(document, result);
  return result;
}
