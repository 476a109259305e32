/**
 * The policy language, in the shape AWS IAM documents use (JSON policy element reference:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html).
 * Documents are kept as written (a single string stays a string); `parsePolicyDocument`
 * validates and freezes them, the evaluator compiles them once.
 */

export type Effect = "Allow" | "Deny";

/** A single value or a list: AWS accepts both for Action, Resource and condition values. */
export type OneOrMany<T> = T | readonly T[];

/** A condition value as JSON allows it; numbers and booleans are compared as their string form (AWS). */
export type ConditionValue = string | number | boolean;

/** `{ [operator]: { [conditionKey]: value | value[] } }`, e.g. `{ StringEquals: { "berth:PrincipalType": "user" } }`. */
export type ConditionBlock = Readonly<Record<string, Readonly<Record<string, OneOrMany<ConditionValue>>>>>;

type ActionPart =
  | { readonly Action: OneOrMany<string>; readonly NotAction?: never }
  | { readonly NotAction: OneOrMany<string>; readonly Action?: never };

type ResourcePart =
  | { readonly Resource: OneOrMany<string>; readonly NotResource?: never }
  | { readonly NotResource: OneOrMany<string>; readonly Resource?: never };

/** One statement: exactly one of Action/NotAction and exactly one of Resource/NotResource. */
export type Statement = {
  readonly Sid?: string;
  readonly Effect: Effect;
  readonly Condition?: ConditionBlock;
} & ActionPart &
  ResourcePart;

export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: Statement | readonly Statement[];
}

/** A policy attached to the principal (or a managed one), as the evaluator receives it. */
export interface Policy {
  readonly id: string;
  readonly name: string;
  readonly document: PolicyDocument;
}

/**
 * What is being asked: `action` like `cluster:Create`, `resource` like
 * `brn:berth:ten_1:cluster/cl_1`, and the request context. Context keys are matched
 * case-insensitively (AWS); a key that is absent or `undefined` is "not present".
 */
export interface AuthorizationRequest {
  readonly action: string;
  readonly resource: string;
  readonly context: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/** AWS's three outcomes (policy evaluation logic): allowed, explicitly denied, denied by default. */
export type Decision = "Allow" | "ExplicitDeny" | "ImplicitDeny";

/** Where a statement lives: which policy, its Sid if any, its 0-based index in `Statement`. */
export interface StatementRef {
  readonly policyId: string;
  readonly policyName: string;
  readonly sid?: string;
  readonly index: number;
}

export interface MatchedStatement extends StatementRef {
  readonly effect: Effect;
}

export interface EvaluationResult {
  readonly decision: Decision;
  /** The first matching Deny for ExplicitDeny, the first matching Allow for Allow, null for ImplicitDeny. */
  readonly decidingStatement: StatementRef | null;
  /** Every statement that applied to the request, in policy order then statement order. */
  readonly matchedStatements: readonly MatchedStatement[];
}
