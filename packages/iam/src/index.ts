export { BASE_OPERATORS, type BaseOperator, type Family, parseOperatorName } from "./conditions/operators";
export { type CoverageContext, type CoverageResult, policiesCover } from "./escalation/cover";
export { evaluate } from "./evaluate";
export type { PolicyIssue } from "./issues";
export {
  AdministratorAccess,
  BillingViewer,
  ClusterAdmin,
  type ManagedPolicy,
  managedPolicies,
  ReadOnlyAccess,
} from "./managed";
export { type ParseResult, POLICY_LIMITS, parsePolicyDocument, policyDocumentSchema } from "./schema";
export type {
  AuthorizationRequest,
  ConditionBlock,
  ConditionValue,
  Decision,
  Effect,
  EvaluationResult,
  MatchedStatement,
  OneOrMany,
  Policy,
  PolicyDocument,
  Statement,
  StatementRef,
} from "./types";
