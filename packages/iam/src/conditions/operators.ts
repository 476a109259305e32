/**
 * The condition operators Berth understands, from AWS "IAM JSON policy elements: Condition
 * operators" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
 * An operator name is `[ForAnyValue:|ForAllValues:]<base>[IfExists]`; names are matched
 * exactly as AWS spells them.
 */

export type Family = "String" | "Numeric" | "Date" | "Bool" | "IpAddress" | "Null";

/** How Numeric and Date operators compare a request value with a policy value: `request <op> policy`. */
export type OrderedComparison =
  | "Equals"
  | "LessThan"
  | "LessThanEquals"
  | "GreaterThan"
  | "GreaterThanEquals";

/** How String operators compare: exactly, ignoring case, or as a `*`/`?` pattern. */
export type StringComparison = "Equals" | "EqualsIgnoreCase" | "Like";

/**
 * One operator without its `ForAnyValue:`/`ForAllValues:` prefix and `IfExists` suffix: its
 * family and, for String, Numeric and Date, how it compares a request value with a policy
 * value. Policy variables are substituted in String and Bool values only (the "Policy
 * variables" row of each operator family).
 *
 * `negated` marks StringNotEquals, NotIpAddress and the like: they are true exactly when their
 * positive form is false, so with several policy values that is "none of them matches", the
 * NOR AWS describes in "Evaluation logic for negated matching condition operators".
 */
export type BaseOperator =
  | { readonly family: "String"; readonly comparison: StringComparison; readonly negated: boolean }
  | { readonly family: "Numeric"; readonly comparison: OrderedComparison; readonly negated: boolean }
  | { readonly family: "Date"; readonly comparison: OrderedComparison; readonly negated: boolean }
  | { readonly family: "Bool"; readonly negated: false }
  | { readonly family: "IpAddress"; readonly negated: boolean }
  | { readonly family: "Null" };

const string = (comparison: StringComparison, negated = false): BaseOperator => ({
  family: "String",
  comparison,
  negated,
});
const numeric = (comparison: OrderedComparison, negated = false): BaseOperator => ({
  family: "Numeric",
  comparison,
  negated,
});
const date = (comparison: OrderedComparison, negated = false): BaseOperator => ({
  family: "Date",
  comparison,
  negated,
});

export const BASE_OPERATORS: Readonly<Record<string, BaseOperator>> = {
  StringEquals: string("Equals"),
  StringNotEquals: string("Equals", true),
  StringEqualsIgnoreCase: string("EqualsIgnoreCase"),
  StringNotEqualsIgnoreCase: string("EqualsIgnoreCase", true),
  StringLike: string("Like"),
  StringNotLike: string("Like", true),
  NumericEquals: numeric("Equals"),
  NumericNotEquals: numeric("Equals", true),
  NumericLessThan: numeric("LessThan"),
  NumericLessThanEquals: numeric("LessThanEquals"),
  NumericGreaterThan: numeric("GreaterThan"),
  NumericGreaterThanEquals: numeric("GreaterThanEquals"),
  DateEquals: date("Equals"),
  DateNotEquals: date("Equals", true),
  DateLessThan: date("LessThan"),
  DateLessThanEquals: date("LessThanEquals"),
  DateGreaterThan: date("GreaterThan"),
  DateGreaterThanEquals: date("GreaterThanEquals"),
  Bool: { family: "Bool", negated: false },
  IpAddress: { family: "IpAddress", negated: false },
  NotIpAddress: { family: "IpAddress", negated: true },
  // Null tests whether the key is present; `Null: "false"` is its opposite, not a negation.
  Null: { family: "Null" },
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
  // Own entries only: "toString" and "constructor" are not operators.
  const base = Object.hasOwn(BASE_OPERATORS, rest) ? BASE_OPERATORS[rest] : undefined;
  if (base === undefined) return null;
  if (base.family === "Null" && (ifExists || set !== null)) return null;
  return { base, baseName: rest, set, ifExists };
}
