// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is IAM policy-variable syntax inside policy text, not a JS template
import { describe, expect, it } from "vitest";
import { POLICY_LIMITS, type PolicyIssue, parsePolicyDocument } from "../src/index";

const statement = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  Effect: "Allow",
  Action: "cluster:Describe",
  Resource: "brn:berth:t1:cluster/c1",
  ...extra,
});
const doc = (...statements: unknown[]): Record<string, unknown> => ({
  Version: "2012-10-17",
  Statement: statements,
});

function errorsOf(input: unknown): PolicyIssue[] {
  const result = parsePolicyDocument(input);
  if (result.ok) throw new Error("expected the document to be rejected");
  return [...result.errors];
}

describe("parsePolicyDocument accepts", () => {
  it("a document with every element, keeping it as written and frozen", () => {
    const input = doc(
      statement({
        Sid: "ReadClusters",
        Action: ["cluster:Describe", "cluster:List"],
        Condition: { Bool: { "berth:SecureTransport": true } },
      }),
      { Effect: "Deny", NotAction: "*:List*", NotResource: ["brn:berth:${berth:TenantId}:cluster/*", "*"] },
    );
    const result = parsePolicyDocument(input);
    expect(result).toEqual({ ok: true, document: input });
    if (!result.ok) return;
    expect(Object.isFrozen(result.document)).toBe(true);
    expect(Object.isFrozen(result.document.Statement)).toBe(true);
  });

  it("a JSON text, and a single statement object", () => {
    const result = parsePolicyDocument(JSON.stringify({ Version: "2012-10-17", Statement: statement() }));
    expect(result.ok).toBe(true);
  });

  it("every condition operator family with valid values, prefixes and suffixes", () => {
    const result = parsePolicyDocument(
      doc(
        statement({
          Condition: {
            StringLike: { "berth:PrincipalId": ["u-*", "${berth:TenantId}-?"] },
            "ForAnyValue:StringEquals": { "berth:TagKeys": ["team", "env"] },
            NumericGreaterThanEquals: { "berth:RequestTag/replicas": 2 },
            DateLessThanIfExists: {
              "berth:CurrentTime": ["2026-12-31T23:59:59Z", "2026-12-31", "1798761599"],
            },
            NotIpAddress: { "berth:SourceIp": ["10.0.0.0/8", "2001:db8::/32", "192.0.2.1"] },
            Null: { "berth:RequestTag/team": "false" },
            BoolIfExists: { "berth:SecureTransport": "${berth:RequestTag/secure}" },
          },
        }),
      ),
    );
    expect(result).toMatchObject({ ok: true });
  });

  it("resources with wildcards, variables and escapes", () => {
    for (const resource of [
      "*",
      "brn:berth:*:usage",
      "brn:berth:t1:cluster/c1/namespace/ns/deployment/web",
      "brn:berth:${berth:TenantId}:user/${berth:PrincipalId}",
      "brn:berth:t1:policy/${*}",
      "brn:berth:t?:cluster/*",
    ]) {
      expect(parsePolicyDocument(doc(statement({ Resource: resource }))).ok, resource).toBe(true);
    }
  });
});

describe("parsePolicyDocument rejects", () => {
  it("unknown fields, at the top and in a statement, naming each with its path", () => {
    expect(errorsOf({ ...doc(statement({ Principal: "*" })), Id: "x" })).toEqual([
      { path: "Statement[0].Principal", message: 'unknown field "Principal"' },
      { path: "Id", message: 'unknown field "Id"' },
    ]);
  });

  it("a statement with both Action and NotAction", () => {
    expect(errorsOf(doc(statement({ NotAction: "cluster:List" })))).toEqual([
      { path: "Statement[0].NotAction", message: "a statement has Action or NotAction, not both" },
    ]);
  });

  it("a statement with both Resource and NotResource, or with neither Action nor NotAction", () => {
    expect(errorsOf(doc(statement(), { Effect: "Allow", Resource: "*", NotResource: "*" }))).toEqual([
      { path: "Statement[1]", message: "a statement needs Action or NotAction" },
      { path: "Statement[1].NotResource", message: "a statement has Resource or NotResource, not both" },
    ]);
  });

  it("an Effect other than Allow or Deny, and a missing one", () => {
    expect(errorsOf(doc(statement({ Effect: "allow" }), { Action: "*", Resource: "*" }))).toEqual([
      { path: "Statement[0].Effect", message: 'Effect must be "Allow" or "Deny"' },
      { path: "Statement[1].Effect", message: 'Effect must be "Allow" or "Deny"' },
    ]);
  });

  it("another Version, or none", () => {
    expect(errorsOf({ Version: "2008-10-17", Statement: statement() })).toEqual([
      { path: "Version", message: 'Version must be "2012-10-17"' },
    ]);
    expect(errorsOf({ Statement: statement() })).toEqual([
      { path: "Version", message: 'Version must be "2012-10-17"' },
    ]);
  });

  it.each([
    "cluster",
    "cluster:",
    ":Create",
    "cluster:Create:now",
    "clu ster:Create",
    "cluster:Cre-ate",
    "${berth:Service}:Create",
    "",
  ])("a malformed action %j, at its index", (action) => {
    const [error] = errorsOf(doc(statement({ Action: ["cluster:List", action] })));
    expect(error?.path).toBe("Statement[0].Action[1]");
    expect(error?.message).toMatch(/service:Verb/);
  });

  it.each([
    "arn:aws:s3:::bucket",
    "brn:berth:t1",
    "brn:berth:t1:",
    "brn:berth::cluster/c1",
    "brn:other:t1:cluster/c1",
    "brn:berth:t1:cluster/my cluster",
    "brn:berth:t 1:cluster/c1",
    "xbrn:berth:t1:cluster/c1",
    " brn:berth:t1:cluster/c1",
    "brn:berth:t1:cluster/c1 ",
    "brn:berth:${berth:Path}",
  ])("a malformed resource %j", (resource) => {
    expect(errorsOf(doc(statement({ Resource: resource })))).toEqual([
      { path: "Statement[0].Resource", message: expect.stringMatching(/brn:berth:<tenantId or \*>:<path>/) },
    ]);
  });

  it.each([
    "brn:berth:${berth:TenantId:cluster/*",
    "brn:berth:${}:cluster/*",
    "brn:berth:${berth:TenantId, 'x'}:cluster/*",
    "brn:berth:${ berth:TenantId}:cluster/*",
    "brn:berth:${berth:TenantId }:cluster/*",
    "brn:berth:${berth}:cluster/*",
  ])("a malformed policy variable in %j", (resource) => {
    expect(errorsOf(doc(statement({ NotResource: resource, Resource: undefined })))).toEqual([
      { path: "Statement[0].NotResource", message: expect.stringMatching(/malformed policy variable/) },
    ]);
  });

  it("the wrong types where a string or a list is expected, and empty lists", () => {
    expect(errorsOf(doc(statement({ Action: 7, Resource: [] })))).toEqual([
      { path: "Statement[0].Action", message: "expected a string or a list" },
      { path: "Statement[0].Resource", message: "list at least one resource" },
    ]);
    expect(errorsOf({ Version: "2012-10-17", Statement: [] })).toEqual([
      { path: "Statement", message: "list at least one statement" },
    ]);
  });

  it("a Sid that is not alphanumeric, and a duplicate Sid", () => {
    expect(errorsOf(doc(statement({ Sid: "read-clusters" })))).toEqual([
      { path: "Statement[0].Sid", message: "Sid must be letters and digits only" },
    ]);
    expect(errorsOf(doc(statement({ Sid: "A" }), statement({ Sid: "B" }), statement({ Sid: "A" })))).toEqual([
      { path: "Statement[2].Sid", message: 'duplicate Sid "A"' },
    ]);
  });

  it("unknown condition operators, including Null with IfExists or a set prefix", () => {
    const errors = errorsOf(
      doc(
        statement({
          Condition: {
            StringEqualz: { "berth:PrincipalId": "u1" },
            NullIfExists: { "berth:PrincipalId": "true" },
            "ForAnyValue:Null": { "berth:PrincipalId": "true" },
            stringequals: { "berth:PrincipalId": "u1" },
          },
        }),
      ),
    );
    expect(errors.map((e) => e.path)).toEqual([
      "Statement[0].Condition.StringEqualz",
      "Statement[0].Condition.NullIfExists",
      'Statement[0].Condition["ForAnyValue:Null"]',
      "Statement[0].Condition.stringequals",
    ]);
    expect(errors[0]?.message).toBe('unknown condition operator "StringEqualz"');
  });

  it("condition values the operator cannot read, each at its path", () => {
    const errors = errorsOf(
      doc(
        statement({
          Condition: {
            NumericLessThan: { "berth:RequestTag/replicas": "ten" },
            DateGreaterThan: { "berth:CurrentTime": ["2026-01-01T00:00:00Z", "2026-02-30", "tomorrow"] },
            IpAddress: { "berth:SourceIp": ["10.0.0.0/33", "10.0.0.256", "2001:db8:::1", "10.0.0.0/8"] },
            Bool: { "berth:SecureTransport": "yes" },
            Null: { "berth:PrincipalId": "maybe" },
            StringLike: { "berth:PrincipalId": "${berth:PrincipalId" },
          },
        }),
      ),
    );
    expect(errors.map((e) => e.path)).toEqual([
      'Statement[0].Condition.NumericLessThan["berth:RequestTag/replicas"]',
      'Statement[0].Condition.DateGreaterThan["berth:CurrentTime"][1]',
      'Statement[0].Condition.DateGreaterThan["berth:CurrentTime"][2]',
      'Statement[0].Condition.IpAddress["berth:SourceIp"][0]',
      'Statement[0].Condition.IpAddress["berth:SourceIp"][1]',
      'Statement[0].Condition.IpAddress["berth:SourceIp"][2]',
      'Statement[0].Condition.Bool["berth:SecureTransport"]',
      'Statement[0].Condition.Null["berth:PrincipalId"]',
      'Statement[0].Condition.StringLike["berth:PrincipalId"]',
    ]);
  });

  it.each([
    "PrincipalId",
    "my key:x",
    " berth:PrincipalId",
    "berth:",
    `berth:${"x".repeat(257)}`,
    "berth:x\u0007",
  ])("a condition key %j that is not prefix:Name", (key) => {
    expect(
      errorsOf(doc(statement({ Condition: { StringEquals: { [key]: "u1" } } }))).map((e) => e.message),
    ).toEqual(['condition key must look like "berth:Name"']);
  });

  it("a condition value list that is empty or too long", () => {
    const many = Array.from({ length: 101 }, (_, i) => `u${i}`);
    expect(errorsOf(doc(statement({ Condition: { StringEquals: { "berth:PrincipalId": [] } } })))).toEqual([
      {
        path: 'Statement[0].Condition.StringEquals["berth:PrincipalId"]',
        message: "list at least one value",
      },
    ]);
    expect(errorsOf(doc(statement({ Condition: { StringEquals: { "berth:PrincipalId": many } } })))).toEqual([
      { path: 'Statement[0].Condition.StringEquals["berth:PrincipalId"]', message: "at most 100 values" },
    ]);
  });

  it("a Bool value that is neither true, false nor a variable, and a malformed variable in one", () => {
    expect(
      errorsOf(doc(statement({ Condition: { Bool: { "berth:Flag": ["maybe", "${berth:Flag"] } } }))),
    ).toEqual([
      { path: 'Statement[0].Condition.Bool["berth:Flag"][0]', message: 'Bool needs "true" or "false"' },
      { path: 'Statement[0].Condition.Bool["berth:Flag"][1]', message: "malformed policy variable" },
    ]);
    const ok = parsePolicyDocument(
      doc(statement({ Condition: { Bool: { "berth:Flag": "t${berth:Expected}" } } })),
    );
    expect(ok.ok).toBe(true);
  });

  it("names what each family needs", () => {
    expect(
      errorsOf(
        doc(
          statement({
            Condition: {
              NumericEquals: { "berth:N": "ten" },
              DateEquals: { "berth:T": "soon" },
              IpAddress: { "berth:SourceIp": "here" },
              Null: { "berth:X": "yes" },
              StringLike: { "berth:Y": "${x" },
            },
          }),
        ),
      ).map((e) => e.message),
    ).toEqual([
      "NumericEquals needs a number",
      "DateEquals needs an ISO 8601 date (2026-01-31T12:00:00Z) or epoch seconds",
      "IpAddress needs an IPv4 or IPv6 address or CIDR",
      'Null needs "true" (key absent) or "false" (key present)',
      "malformed policy variable",
    ]);
  });

  it("wildcards in StringLike values, but not in StringEquals, are pattern syntax", () => {
    expect(
      parsePolicyDocument(doc(statement({ Condition: { StringEquals: { "berth:Y": "a*${?}" } } }))).ok,
    ).toBe(true);
  });

  it("names the field of a single statement object, and the types a wrong Statement could have had", () => {
    expect(errorsOf({ Version: "2012-10-17", Statement: { ...statement(), Effect: "allow" } })).toEqual([
      { path: "Statement.Effect", message: 'Effect must be "Allow" or "Deny"' },
    ]);
    expect(errorsOf({ Version: "2012-10-17", Statement: 7 })).toEqual([
      { path: "Statement", message: "expected an object or a list" },
    ]);
    expect(errorsOf(doc(statement({ Action: ["cluster:List", 7] })))).toEqual([
      { path: "Statement[0].Action[1]", message: expect.stringMatching(/expected string/) },
    ]);
  });

  it("a condition key that is not prefix:Name", () => {
    expect(errorsOf(doc(statement({ Condition: { StringEquals: { PrincipalId: "u1" } } })))).toEqual([
      {
        path: "Statement[0].Condition.StringEquals.PrincipalId",
        message: 'condition key must look like "berth:Name"',
      },
    ]);
  });

  it("a condition value that is neither a string, a number, a boolean nor a list of them", () => {
    expect(errorsOf(doc(statement({ Condition: { StringEquals: { "berth:TenantId": { a: 1 } } } })))).toEqual(
      [
        {
          path: 'Statement[0].Condition.StringEquals["berth:TenantId"]',
          message: "expected a string or a number or a boolean or a list",
        },
      ],
    );
  });
});

describe("parsePolicyDocument enforces its limits", () => {
  it(`rejects a document over ${POLICY_LIMITS.maxDocumentChars} characters, not counting whitespace`, () => {
    const resources = Array.from({ length: 90 }, (_, i) => `brn:berth:t1:cluster/${"c".repeat(100)}${i}`);
    expect(errorsOf(doc(statement({ Resource: resources })))).toEqual([
      { path: "", message: expect.stringMatching(/the limit is 10240/) },
    ]);
    const exact = doc(statement({ Sid: "S" }));
    const room = POLICY_LIMITS.maxDocumentChars - JSON.stringify(exact).length;
    expect(parsePolicyDocument(doc(statement({ Sid: `S${"x".repeat(room)}` }))).ok).toBe(true);
    expect(errorsOf(doc(statement({ Sid: `S${"x".repeat(room + 1)}` })))).toEqual([
      { path: "", message: `policy is 10241 characters without whitespace; the limit is 10240` },
    ]);
    const padded = JSON.stringify(doc(statement())).replaceAll(",", `,${" ".repeat(5000)}`);
    expect(padded.length).toBeGreaterThan(POLICY_LIMITS.maxDocumentChars);
    expect(parsePolicyDocument(padded).ok).toBe(true);
  });

  it(`rejects more than ${POLICY_LIMITS.maxStatements} statements`, () => {
    const statements = Array.from({ length: 101 }, () => ({ Effect: "Allow", Action: "*", Resource: "*" }));
    expect(errorsOf(doc(...statements))).toEqual([{ path: "Statement", message: "at most 100 statements" }]);
  });

  it("counts NotAction and NotResource lists like Action and Resource ones", () => {
    const actions = Array.from({ length: 101 }, (_, i) => `cluster:A${i}`);
    expect(
      errorsOf(doc({ Effect: "Allow", NotAction: actions, NotResource: [] })).map((e) => [e.path, e.message]),
    ).toEqual([
      ["Statement[0].NotAction", "at most 100 actions"],
      ["Statement[0].NotResource", "list at least one resource"],
    ]);
    expect(errorsOf(doc({ Effect: "Allow", NotAction: [], NotResource: ["*"] }))).toEqual([
      { path: "Statement[0].NotAction", message: "list at least one action" },
    ]);
  });

  it(`rejects more than ${POLICY_LIMITS.maxValuesPerList} actions or resources in one list`, () => {
    const actions = Array.from({ length: 101 }, (_, i) => `cluster:A${i}`);
    const resources = Array.from({ length: 101 }, (_, i) => `brn:berth:t1:cluster/${i}`);
    expect(errorsOf(doc(statement({ Action: actions, Resource: resources })))).toEqual([
      { path: "Statement[0].Action", message: "at most 100 actions" },
      { path: "Statement[0].Resource", message: "at most 100 resources" },
    ]);
  });

  it("rejects text that is not JSON, a huge JSON text, and values that are not documents", () => {
    expect(errorsOf("{ not json")[0]?.message).toMatch(/^not valid JSON/);
    expect(errorsOf(" ".repeat(POLICY_LIMITS.maxRawJsonChars + 1))[0]?.message).toMatch(/longer than/);
    expect(errorsOf(null)).toEqual([{ path: "", message: expect.stringMatching(/expected object/) }]);
    expect(errorsOf(" ".repeat(POLICY_LIMITS.maxRawJsonChars))[0]?.message).toMatch(/^not valid JSON/);
    expect(errorsOf(undefined)).toEqual([{ path: "", message: expect.stringMatching(/expected object/) }]);
    expect(errorsOf({ Version: "2012-10-17", Statement: 10n })).toEqual([
      { path: "", message: "not a JSON value" },
    ]);
  });
});
