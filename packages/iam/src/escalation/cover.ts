import type { Policy, Statement } from "../types";
import { includes, intersects } from "./glob-sets";
import { EVERYTHING, type Sym, symbolsOf } from "./symbols";

export interface CoverageContext {
  /** Values for policy variables (`${berth:PrincipalId}`, …) of the granting caller's policies. */
  readonly held: Readonly<Record<string, string | undefined>>;
  /** Values for policy variables of the principal that receives the grant. */
  readonly granted: Readonly<Record<string, string | undefined>>;
}

export type CoverageResult =
  | { readonly covered: true }
  | {
      readonly covered: false;
      readonly policyName: string;
      readonly statementIndex: number;
      readonly reason: string;
    };

type Side = { readonly not: boolean; readonly patterns: readonly (Sym[] | null)[] };

interface HeldStatement {
  readonly effect: "Allow" | "Deny";
  readonly conditional: boolean;
  readonly actions: Side;
  readonly resources: Side;
}

function list(value: unknown): string[] {
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function statementsOf(policy: Policy): Statement[] {
  const raw: unknown = policy.document?.Statement;
  const all = Array.isArray(raw) ? raw : [raw];
  return all.filter((s): s is Statement => typeof s === "object" && s !== null);
}

function lowerKeys(values: Readonly<Record<string, string | undefined>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(values)) if (typeof v === "string") out.set(k.toLowerCase(), v);
  return out;
}

function side(positive: unknown, negative: unknown, context: Map<string, string>, foldCase: boolean): Side {
  const not = positive === undefined && negative !== undefined;
  const source = not ? list(negative) : list(positive);
  return { not, patterns: source.map((p) => symbolsOf(p, context, foldCase)) };
}

function compileHeld(policies: readonly Policy[], context: Map<string, string>): HeldStatement[] {
  return policies.flatMap((p) =>
    statementsOf(p).flatMap((s): HeldStatement[] => {
      // Anything but exactly Allow or Deny never grants, and is not trusted to deny either.
      if (s.Effect !== "Allow" && s.Effect !== "Deny") return [];
      return [
        {
          effect: s.Effect,
          conditional: s.Condition !== undefined && Object.keys(s.Condition).length > 0,
          actions: side(s.Action, s.NotAction, context, true),
          resources: side(s.Resource, s.NotResource, context, false),
        },
      ];
    }),
  );
}

/** Does this side of a held Allow contain every string of `pattern`? */
function sideIncludes(held: Side, pattern: readonly Sym[]): boolean {
  const known = held.patterns.filter((p): p is Sym[] => p !== null);
  if (!held.not) return known.some((q) => includes(q, pattern));
  // NotAction [X…]: everything but X. It contains `pattern` if no X can meet it.
  return known.length === held.patterns.length && known.every((q) => !intersects(q, pattern));
}

/** Could this side of a held Deny match some string of `pattern`? When unsure: yes. */
function sideMeets(held: Side, pattern: readonly Sym[]): boolean {
  if (!held.not) return held.patterns.some((q) => q === null || intersects(q, pattern));
  // NotAction [X…] meets `pattern` unless the X together surely contain all of it.
  return !held.patterns.some((q) => q !== null && includes(q, pattern));
}

function show(pattern: readonly Sym[]): string {
  return pattern.map((s) => (s === 0 ? "*" : s === 1 ? "?" : s)).join("");
}

/**
 * Is every request that `granted` could allow also allowed by `held`, whatever the rest of the
 * request context? The rule of Kubernetes RBAC and of AWS permission boundaries: nobody grants,
 * attaches or mints a credential for more than they hold.
 *
 * Sound, and conservative where exactness would cost: each action × resource pattern pair of each
 * granted Allow statement (its conditions only narrow it and are ignored; NotAction/NotResource
 * count as `*`; a variable without a value counts as `*`) must lie inside one held Allow statement
 * without conditions, and no held Deny statement — conditional or not — may touch it.
 */
export function policiesCover(
  held: readonly Policy[],
  granted: readonly Policy[],
  ctx: CoverageContext,
): CoverageResult {
  const heldStatements = compileHeld(held, lowerKeys(ctx.held));
  const allows = heldStatements.filter((s) => s.effect === "Allow" && !s.conditional);
  const denies = heldStatements.filter((s) => s.effect === "Deny");
  const grantedContext = lowerKeys(ctx.granted);
  for (const policy of granted) {
    const statements = statementsOf(policy);
    for (let index = 0; index < statements.length; index++) {
      const s = statements[index] as Statement;
      if (s.Effect !== "Allow") continue;
      const widen = (p: Sym[] | null) => p ?? [...EVERYTHING];
      const actions =
        s.NotAction !== undefined
          ? [[...EVERYTHING]]
          : list(s.Action).map((a) => widen(symbolsOf(a, grantedContext, true)));
      const resources =
        s.NotResource !== undefined
          ? [[...EVERYTHING]]
          : list(s.Resource).map((r) => widen(symbolsOf(r, grantedContext, false)));
      for (const action of actions)
        for (const resource of resources) {
          const uncovered = (reason: string): CoverageResult => ({
            covered: false,
            policyName: policy.name,
            statementIndex: index,
            reason: `${show(action)} on ${show(resource)} ${reason}`,
          });
          if (!allows.some((h) => sideIncludes(h.actions, action) && sideIncludes(h.resources, resource)))
            return uncovered("is not held without conditions");
          if (denies.some((d) => sideMeets(d.actions, action) && sideMeets(d.resources, resource)))
            return uncovered("is partly denied to the caller");
        }
    }
  }
  return { covered: true };
}
