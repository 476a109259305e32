import { type CompiledPatterns, type CompiledStatement, compileDocument } from "./compile";
import { allConditionsHold } from "./conditions/condition";
import { indexContext, resolverFor } from "./context";
import type { Resolve } from "./template";
import type { AuthorizationRequest, EvaluationResult, MatchedStatement, Policy, StatementRef } from "./types";
import { matchGlob } from "./wildcard";

/** Action: any listed pattern matches; NotAction: none does (likewise Resource/NotResource). */
function matchesPatterns(patterns: CompiledPatterns, subject: string, resolve: Resolve): boolean {
  let any = false;
  for (const glob of patterns.globs) {
    if (matchGlob(glob, subject, resolve)) {
      any = true;
      break;
    }
  }
  return any !== patterns.not;
}

function applies(
  statement: CompiledStatement,
  action: string,
  resource: string,
  context: ReturnType<typeof indexContext>,
  resolve: Resolve,
): boolean {
  return (
    matchesPatterns(statement.actions, action, resolve) &&
    matchesPatterns(statement.resources, resource, resolve) &&
    allConditionsHold(statement.conditions, context, resolve)
  );
}

function matchOf(policy: Policy, statement: CompiledStatement): MatchedStatement {
  return statement.sid === undefined
    ? { policyId: policy.id, policyName: policy.name, index: statement.index, effect: statement.effect }
    : {
        policyId: policy.id,
        policyName: policy.name,
        sid: statement.sid,
        index: statement.index,
        effect: statement.effect,
      };
}

function refOf(match: MatchedStatement): StatementRef {
  const { effect: _effect, ...where } = match;
  return where;
}

/**
 * Decides a request against identity policies the way AWS does within one account ("Policy
 * evaluation logic", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
 * every request starts implicitly denied; a statement applies when its action, resource and
 * every condition match; any applicable Deny makes it an explicit deny, which no Allow
 * overrides ("The difference between explicit and implicit denies"); otherwise any applicable
 * Allow allows it. The decision does not depend on the order of policies or statements; the
 * deciding statement is the first applicable one of the winning effect, in the order given.
 *
 * Pure: no clock, no I/O; the current time, source address and the rest come in `context`.
 * Never throws on odd input: what cannot be read does not match — a statement whose Effect is
 * not exactly "Allow" or "Deny" never applies, and a request whose action or resource is not a
 * string is implicitly denied.
 */
export function evaluate(policies: readonly Policy[], request: AuthorizationRequest): EvaluationResult {
  if (typeof request.action !== "string" || typeof request.resource !== "string") {
    return { decision: "ImplicitDeny", decidingStatement: null, matchedStatements: [] };
  }
  const action = request.action.toLowerCase();
  const resource = request.resource;
  const context = indexContext(request.context);
  const resolve = resolverFor(context);
  const matched: MatchedStatement[] = [];
  let firstAllow: MatchedStatement | undefined;
  let firstDeny: MatchedStatement | undefined;
  for (const policy of policies) {
    for (const statement of compileDocument(policy.document)) {
      if (!applies(statement, action, resource, context, resolve)) continue;
      const match = matchOf(policy, statement);
      matched.push(match);
      // Only "Allow" and "Deny" get this far: the compiler drops statements with any other Effect.
      if (match.effect === "Deny") firstDeny ??= match;
      else firstAllow ??= match;
    }
  }
  if (firstDeny !== undefined) {
    return { decision: "ExplicitDeny", decidingStatement: refOf(firstDeny), matchedStatements: matched };
  }
  if (firstAllow !== undefined) {
    return { decision: "Allow", decidingStatement: refOf(firstAllow), matchedStatements: matched };
  }
  return { decision: "ImplicitDeny", decidingStatement: null, matchedStatements: matched };
}
