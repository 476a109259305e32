import { expect, it } from "vitest";
import { type AuthorizationRequest, type Decision, evaluate, type Statement } from "../src/index";

/** One row of an evaluation table: a single policy of `statements`, one request, the expected decision. */
export interface Case {
  readonly name: string;
  readonly statements: Statement[];
  readonly action: string;
  readonly resource: string;
  readonly context?: AuthorizationRequest["context"];
  readonly expected: Decision;
}

export function decide(
  statements: Statement[],
  action: string,
  resource: string,
  context: AuthorizationRequest["context"] = {},
): Decision {
  const document = { Version: "2012-10-17" as const, Statement: statements };
  return evaluate([{ id: "p1", name: "TestPolicy", document }], { action, resource, context }).decision;
}

export function table(cases: readonly Case[]): void {
  it.each(cases)("$name", ({ statements, action, resource, context, expected }) => {
    expect(decide(statements, action, resource, context)).toBe(expected);
  });
}
