/**
 * The condition operators Berth understands, from AWS "IAM JSON policy elements: Condition
 * operators" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
 * An operator name is `[ForAnyValue:|ForAllValues:]<base>[IfExists]`; names are matched
 * exactly as AWS spells them.
 */

export type Family = "String" | "Numeric" | "Date" | "Bool" | "IpAddress" | "Null";

export type Comparison =
  | "Equals"
  | "EqualsIgnoreCase"
  | "Like"
  | "LessThan"
  | "LessThanEquals"
  | "GreaterThan"
  | "GreaterThanEquals"
  | "InRange";

export interface BaseOperator {
  readonly family: Family;
  /** What one request value is checked against one policy value with. */
  readonly comparison: Comparison;
  /**
   * Negated operators (StringNotEquals, NotIpAddress, …) are true exactly when their positive
   * form is false: with several policy values that is "none of them matches", the NOR AWS
   * describes in "Evaluation logic for negated matching condition operators".
   */
  readonly negated: boolean;
  /** Whether policy variables are substituted in the values (the "Policy variables" row per family). */
  readonly variables: boolean;
}

const op = (family: Family, comparison: Comparison, negated: boolean, variables: boolean): BaseOperator => ({
  family,
  comparison,
  negated,
  variables,
});

export const BASE_OPERATORS: Readonly<Record<string, BaseOperator>> = {
  StringEquals: op("String", "Equals", false, true),
  StringNotEquals: op("String", "Equals", true, true),
  StringEqualsIgnoreCase: op("String", "EqualsIgnoreCase", false, true),
  StringNotEqualsIgnoreCase: op("String", "EqualsIgnoreCase", true, true),
  StringLike: op("String", "Like", false, true),
  StringNotLike: op("String", "Like", true, true),
  NumericEquals: op("Numeric", "Equals", false, false),
  NumericNotEquals: op("Numeric", "Equals", true, false),
  NumericLessThan: op("Numeric", "LessThan", false, false),
  NumericLessThanEquals: op("Numeric", "LessThanEquals", false, false),
  NumericGreaterThan: op("Numeric", "GreaterThan", false, false),
  NumericGreaterThanEquals: op("Numeric", "GreaterThanEquals", false, false),
  DateEquals: op("Date", "Equals", false, false),
  DateNotEquals: op("Date", "Equals", true, false),
  DateLessThan: op("Date", "LessThan", false, false),
  DateLessThanEquals: op("Date", "LessThanEquals", false, false),
  DateGreaterThan: op("Date", "GreaterThan", false, false),
  DateGreaterThanEquals: op("Date", "GreaterThanEquals", false, false),
  Bool: op("Bool", "Equals", false, true),
  IpAddress: op("IpAddress", "InRange", false, false),
  NotIpAddress: op("IpAddress", "InRange", true, false),
  Null: op("Null", "Equals", false, false),
};

export type SetOperator = "ForAnyValue" | "ForAllValues";

export interface OperatorName {
  readonly base: BaseOperator;
  readonly baseName: string;
  readonly set: SetOperator | null;
  readonly ifExists: boolean;
}

/**
 * Reads an operator name, or returns null for one Berth does not know. `Null` takes neither
 * `IfExists` nor a set prefix: it is itself the existence test (AWS: "...IfExists" applies
 * to every operator "except the Null condition").
 */
export function parseOperatorName(name: string): OperatorName | null {
  let rest = name;
  let set: SetOperator | null = null;
  for (const prefix of ["ForAnyValue", "ForAllValues"] as const) {
    if (rest.startsWith(`${prefix}:`)) {
      set = prefix;
      rest = rest.slice(prefix.length + 1);
    }
  }
  let ifExists = false;
  if (rest.endsWith("IfExists")) {
    ifExists = true;
    rest = rest.slice(0, -"IfExists".length);
  }
  if (!Object.hasOwn(BASE_OPERATORS, rest)) return null;
  const base = BASE_OPERATORS[rest];
  if (base === undefined) return null;
  if (base.family === "Null" && (ifExists || set !== null)) return null;
  return { base, baseName: rest, set, ifExists };
}
