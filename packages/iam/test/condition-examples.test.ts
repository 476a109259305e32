// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is IAM policy-variable syntax inside policy text, not a JS template
import { describe } from "vitest";
import type { AuthorizationRequest, Statement } from "../src/index";
import { table } from "./table";

/**
 * AWS's documented condition examples, restated for Berth: missing keys, IfExists, Null, IP
 * ranges, date windows, multivalued keys, negated operators. Each block names its AWS page.
 */

type Context = AuthorizationRequest["context"];

const C1 = "brn:berth:t1:cluster/c1";

describe("missing condition keys (AWS: Condition operators, the Important box; ...IfExists)", () => {
  const allowWith = (operator: string): Statement[] => [
    {
      Effect: "Allow",
      Action: "cluster:Create",
      Resource: "*",
      Condition: { [operator]: { "berth:RequestTag/team": "web" } },
    },
  ];
  table([
    {
      name: "StringEquals on a missing key does not match",
      statements: allowWith("StringEquals"),
      action: "cluster:Create",
      resource: C1,
      expected: "ImplicitDeny",
    },
    {
      name: "StringNotEquals on a missing key matches",
      statements: allowWith("StringNotEquals"),
      action: "cluster:Create",
      resource: C1,
      expected: "Allow",
    },
    {
      name: "StringEqualsIfExists on a missing key matches",
      statements: allowWith("StringEqualsIfExists"),
      action: "cluster:Create",
      resource: C1,
      expected: "Allow",
    },
    {
      name: "StringEqualsIfExists on a present key still compares",
      statements: allowWith("StringEqualsIfExists"),
      action: "cluster:Create",
      resource: C1,
      context: { "berth:RequestTag/team": "api" },
      expected: "ImplicitDeny",
    },
    {
      name: "StringNotLike on a missing key matches",
      statements: allowWith("StringNotLike"),
      action: "cluster:Create",
      resource: C1,
      expected: "Allow",
    },
    {
      name: "NumericLessThan on a missing key does not match",
      statements: allowWith("NumericLessThan"),
      action: "cluster:Create",
      resource: C1,
      expected: "ImplicitDeny",
    },
    {
      name: "BoolIfExists on a missing key matches",
      statements: [
        {
          Effect: "Allow",
          Action: "*",
          Resource: "*",
          Condition: { BoolIfExists: { "berth:SecureTransport": "true" } },
        },
      ],
      action: "cluster:Create",
      resource: C1,
      expected: "Allow",
    },
  ]);
});

describe("the Null operator (AWS: Condition operator to check existence of condition keys)", () => {
  const denyUntagged: Statement[] = [
    { Effect: "Allow", Action: "cluster:Create", Resource: "*" },
    {
      Effect: "Deny",
      Action: "cluster:Create",
      Resource: "*",
      Condition: { Null: { "berth:RequestTag/team": "true" } },
    },
  ];
  const allowOnlyTagged: Statement[] = [
    {
      Effect: "Allow",
      Action: "cluster:Create",
      Resource: "*",
      Condition: { Null: { "berth:RequestTag/team": false } },
    },
  ];
  table([
    {
      name: "Null true matches when the key is absent",
      statements: denyUntagged,
      action: "cluster:Create",
      resource: C1,
      expected: "ExplicitDeny",
    },
    {
      name: "Null true does not match when the key is present",
      statements: denyUntagged,
      action: "cluster:Create",
      resource: C1,
      context: { "berth:RequestTag/team": "web" },
      expected: "Allow",
    },
    {
      name: "Null false matches when the key is present",
      statements: allowOnlyTagged,
      action: "cluster:Create",
      resource: C1,
      context: { "berth:RequestTag/team": "web" },
      expected: "Allow",
    },
    {
      name: "Null false does not match when the key is absent",
      statements: allowOnlyTagged,
      action: "cluster:Create",
      resource: C1,
      expected: "ImplicitDeny",
    },
    {
      name: "Null false does not match an empty multivalued key",
      statements: allowOnlyTagged,
      action: "cluster:Create",
      resource: C1,
      context: { "berth:RequestTag/team": [] },
      expected: "ImplicitDeny",
    },
  ]);
});

describe("IpAddress and NotIpAddress (AWS: IP address condition operators; Deny access based on source IP)", () => {
  const ranges = ["192.0.2.0/24", "203.0.113.0/24", "2001:DB8:1234:5678::/64"];
  const denyOutside: Statement[] = [
    { Effect: "Allow", Action: "*", Resource: "*" },
    { Effect: "Deny", Action: "*", Resource: "*", Condition: { NotIpAddress: { "berth:SourceIp": ranges } } },
  ];
  const allowInside: Statement[] = [
    { Effect: "Allow", Action: "*", Resource: "*", Condition: { IpAddress: { "berth:SourceIp": ranges } } },
  ];
  const from = (ip: string): Context => ({ "berth:SourceIp": ip });
  table([
    {
      name: "an IPv4 address inside a listed /24 is allowed",
      statements: allowInside,
      action: "cluster:List",
      resource: "*",
      context: from("192.0.2.77"),
      expected: "Allow",
    },
    {
      name: "an IPv4 address outside every range is not allowed",
      statements: allowInside,
      action: "cluster:List",
      resource: "*",
      context: from("198.51.100.1"),
      expected: "ImplicitDeny",
    },
    {
      name: "an IPv6 address inside the /64 is allowed",
      statements: allowInside,
      action: "cluster:List",
      resource: "*",
      context: from("2001:db8:1234:5678:abcd::1"),
      expected: "Allow",
    },
    {
      name: "an IPv6 address outside the /64 is not allowed",
      statements: allowInside,
      action: "cluster:List",
      resource: "*",
      context: from("2001:db8:1234:5679::1"),
      expected: "ImplicitDeny",
    },
    {
      name: "an IPv4-mapped IPv6 address is read as IPv4",
      statements: allowInside,
      action: "cluster:List",
      resource: "*",
      context: from("::ffff:203.0.113.9"),
      expected: "Allow",
    },
    {
      name: "NotIpAddress with several ranges is a NOR: inside one of them, no deny",
      statements: denyOutside,
      action: "cluster:List",
      resource: "*",
      context: from("203.0.113.9"),
      expected: "Allow",
    },
    {
      name: "NotIpAddress denies an address outside all ranges",
      statements: denyOutside,
      action: "cluster:List",
      resource: "*",
      context: from("198.51.100.1"),
      expected: "ExplicitDeny",
    },
    {
      name: "NotIpAddress denies a source that is not an address",
      statements: denyOutside,
      action: "cluster:List",
      resource: "*",
      context: from("not-an-ip"),
      expected: "ExplicitDeny",
    },
    {
      name: "NotIpAddress denies when the source address is missing",
      statements: denyOutside,
      action: "cluster:List",
      resource: "*",
      expected: "ExplicitDeny",
    },
    {
      name: "IpAddress with a source that is not an address does not match",
      statements: allowInside,
      action: "cluster:List",
      resource: "*",
      context: from("192.0.2.999"),
      expected: "ImplicitDeny",
    },
  ]);
});

describe("date windows (AWS: Date condition operators; Allows access within specific dates)", () => {
  const window: Statement[] = [
    {
      Effect: "Allow",
      Action: "deployment:Apply",
      Resource: "*",
      Condition: {
        DateGreaterThan: { "berth:CurrentTime": "2026-04-01T00:00:00Z" },
        DateLessThan: { "berth:CurrentTime": "2026-06-30T23:59:59Z" },
      },
    },
  ];
  const at = (time: string): Context => ({ "berth:CurrentTime": time });
  table([
    {
      name: "a time inside the window is allowed",
      statements: window,
      action: "deployment:Apply",
      resource: C1,
      context: at("2026-05-15T12:00:00Z"),
      expected: "Allow",
    },
    {
      name: "a time before the window is not",
      statements: window,
      action: "deployment:Apply",
      resource: C1,
      context: at("2026-03-31T23:59:59Z"),
      expected: "ImplicitDeny",
    },
    {
      name: "a time after the window is not",
      statements: window,
      action: "deployment:Apply",
      resource: C1,
      context: at("2026-07-01T00:00:00Z"),
      expected: "ImplicitDeny",
    },
    {
      name: "the window's exclusive end is not inside it",
      statements: window,
      action: "deployment:Apply",
      resource: C1,
      context: at("2026-06-30T23:59:59Z"),
      expected: "ImplicitDeny",
    },
    {
      name: "a zone offset is honoured",
      statements: window,
      action: "deployment:Apply",
      resource: C1,
      context: at("2026-07-01T01:30:00+02:00"),
      expected: "Allow",
    },
    {
      name: "a time that is not a date matches nothing",
      statements: window,
      action: "deployment:Apply",
      resource: C1,
      context: at("yesterday"),
      expected: "ImplicitDeny",
    },
    {
      name: "epoch seconds are dates too",
      statements: window,
      action: "deployment:Apply",
      resource: C1,
      context: at("1778846400"),
      expected: "Allow",
    },
  ]);
});

describe("multivalued keys (AWS: Set operators for multivalued context keys; Multivalued context key examples)", () => {
  const allowOnlyKnownTags: Statement[] = [
    {
      Effect: "Allow",
      Action: "cluster:Create",
      Resource: "*",
      Condition: { "ForAllValues:StringEquals": { "berth:TagKeys": ["team", "env"] } },
    },
  ];
  const denyRestricted: Statement[] = [
    { Effect: "Allow", Action: "*", Resource: "*" },
    {
      Sid: "DenyRestrictedTags",
      Effect: "Deny",
      Action: "*",
      Resource: "*",
      Condition: { "ForAllValues:StringNotLike": { "berth:TagKeys": "key1*" } },
    },
  ];
  const anyTeam: Statement[] = [
    {
      Effect: "Allow",
      Action: "cluster:Create",
      Resource: "*",
      Condition: { "ForAnyValue:StringEquals": { "berth:TagKeys": "team" } },
    },
  ];
  const tags = (...keys: string[]): Context => ({ "berth:TagKeys": keys });
  table([
    {
      name: "ForAllValues is true when every request value is listed",
      statements: allowOnlyKnownTags,
      action: "cluster:Create",
      resource: C1,
      context: tags("team", "env"),
      expected: "Allow",
    },
    {
      name: "ForAllValues is false when one request value is not listed",
      statements: allowOnlyKnownTags,
      action: "cluster:Create",
      resource: C1,
      context: tags("team", "cost"),
      expected: "ImplicitDeny",
    },
    {
      name: "ForAllValues on an empty set is true",
      statements: allowOnlyKnownTags,
      action: "cluster:Create",
      resource: C1,
      context: tags(),
      expected: "Allow",
    },
    {
      name: "ForAllValues on a missing key is true",
      statements: allowOnlyKnownTags,
      action: "cluster:Create",
      resource: C1,
      expected: "Allow",
    },
    {
      name: "ForAllValues:StringNotLike key1* does not match key1:legal",
      statements: denyRestricted,
      action: "iam:TagUser",
      resource: "*",
      context: tags("key1:legal"),
      expected: "Allow",
    },
    {
      name: "ForAllValues:StringNotLike key1* matches key2:audit",
      statements: denyRestricted,
      action: "iam:TagUser",
      resource: "*",
      context: tags("key2:audit"),
      expected: "ExplicitDeny",
    },
    {
      name: "ForAllValues:StringNotLike key1* matches when the key is missing",
      statements: denyRestricted,
      action: "iam:TagUser",
      resource: "*",
      expected: "ExplicitDeny",
    },
    {
      name: "ForAnyValue is true when one request value is listed",
      statements: anyTeam,
      action: "cluster:Create",
      resource: C1,
      context: tags("cost", "team"),
      expected: "Allow",
    },
    {
      name: "ForAnyValue on an empty set is false",
      statements: anyTeam,
      action: "cluster:Create",
      resource: C1,
      context: tags(),
      expected: "ImplicitDeny",
    },
    {
      name: "ForAnyValue with IfExists on a missing key is still false",
      statements: [
        {
          Effect: "Allow",
          Action: "*",
          Resource: "*",
          Condition: { "ForAnyValue:StringEqualsIfExists": { "berth:TagKeys": "team" } },
        },
      ],
      action: "cluster:Create",
      resource: C1,
      expected: "ImplicitDeny",
    },
  ]);
});

describe("negated operators with several values (AWS: Evaluation logic for negated matching condition operators)", () => {
  const notEither: Statement[] = [
    {
      Effect: "Allow",
      Action: "*",
      Resource: "*",
      Condition: { StringNotEquals: { "berth:PrincipalType": ["user", "serviceAccount"] } },
    },
  ];
  table([
    {
      name: "StringNotEquals with two values is false for the first",
      statements: notEither,
      action: "cluster:List",
      resource: "*",
      context: { "berth:PrincipalType": "user" },
      expected: "ImplicitDeny",
    },
    {
      name: "StringNotEquals with two values is false for the second",
      statements: notEither,
      action: "cluster:List",
      resource: "*",
      context: { "berth:PrincipalType": "serviceAccount" },
      expected: "ImplicitDeny",
    },
    {
      name: "StringNotEquals with two values is true for neither",
      statements: notEither,
      action: "cluster:List",
      resource: "*",
      context: { "berth:PrincipalType": "robot" },
      expected: "Allow",
    },
  ]);
});

describe("condition logic (AWS: Creating a condition with multiple context keys or values)", () => {
  const both: Statement[] = [
    {
      Effect: "Allow",
      Action: "*",
      Resource: "*",
      Condition: {
        StringEquals: { "berth:PrincipalType": "user", "berth:TenantId": "t1" },
        Bool: { "berth:SecureTransport": true },
      },
    },
  ];
  const ok = { "berth:PrincipalType": "user", "berth:TenantId": "t1", "berth:SecureTransport": "true" };
  table([
    {
      name: "every key and every operator must hold",
      statements: both,
      action: "cluster:List",
      resource: "*",
      context: ok,
      expected: "Allow",
    },
    {
      name: "one failing key fails the statement",
      statements: both,
      action: "cluster:List",
      resource: "*",
      context: { ...ok, "berth:TenantId": "t2" },
      expected: "ImplicitDeny",
    },
    {
      name: "one failing operator fails the statement",
      statements: both,
      action: "cluster:List",
      resource: "*",
      context: { ...ok, "berth:SecureTransport": "false" },
      expected: "ImplicitDeny",
    },
    {
      name: "condition key names are case-insensitive",
      statements: both,
      action: "cluster:List",
      resource: "*",
      context: { "BERTH:principaltype": "user", "berth:tenantid": "t1", "Berth:SecureTransport": "TRUE" },
      expected: "Allow",
    },
    {
      name: "StringEquals values are case-sensitive, StringEqualsIgnoreCase values are not",
      statements: [
        {
          Effect: "Allow",
          Action: "*",
          Resource: "*",
          Condition: {
            StringEqualsIgnoreCase: { "berth:PrincipalType": "USER" },
            StringEquals: { "berth:TenantId": "T1" },
          },
        },
      ],
      action: "cluster:List",
      resource: "*",
      context: { "berth:PrincipalType": "user", "berth:TenantId": "t1" },
      expected: "ImplicitDeny",
    },
    {
      name: "numbers compare as numbers",
      statements: [
        {
          Effect: "Allow",
          Action: "*",
          Resource: "*",
          Condition: { NumericLessThanEquals: { "berth:RequestTag/replicas": 10 } },
        },
      ],
      action: "deployment:Apply",
      resource: C1,
      context: { "berth:RequestTag/replicas": "9.5" },
      expected: "Allow",
    },
    {
      name: "a value that is not a number never matches and never throws",
      statements: [
        {
          Effect: "Allow",
          Action: "*",
          Resource: "*",
          Condition: { NumericLessThan: { "berth:RequestTag/replicas": "abc" } },
        },
      ],
      action: "deployment:Apply",
      resource: C1,
      context: { "berth:RequestTag/replicas": "3" },
      expected: "ImplicitDeny",
    },
  ]);
});
