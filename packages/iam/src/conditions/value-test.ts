import type { Resolve } from "../template";
import type { OrderedComparison } from "./operators";

/**
 * Whether one request value matches at least one of the operator's policy values: AWS ORs the
 * values listed for one key ("Creating a condition with multiple keys or values"). Negation,
 * set operators and missing keys are applied around it, in `condition.ts`.
 */
export type ValueTest = (requestValue: string, resolve: Resolve) => boolean;

/** The ordered comparisons shared by the Numeric and Date families: `request <op> policy`; NaN on either side is false. */
export function compareOrdered(comparison: OrderedComparison, request: number, policy: number): boolean {
  switch (comparison) {
    case "Equals":
      return request === policy;
    case "LessThan":
      return request < policy;
    case "LessThanEquals":
      return request <= policy;
    case "GreaterThan":
      return request > policy;
    case "GreaterThanEquals":
      return request >= policy;
  }
}
