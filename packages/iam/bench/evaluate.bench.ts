// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is IAM policy-variable syntax, not a JS template
/**
 * Benchmark: evaluations per second for a few realistic policy sets, each judged against a
 * rotating set of requests (several tenants, actions and resources). Prints one row per case
 * with the median of several rounds.
 *
 *   npx tsx packages/iam/bench/evaluate.bench.ts
 */
import { performance } from "node:perf_hooks";
import {
  type AuthorizationRequest,
  BillingViewer,
  ClusterAdmin,
  evaluate,
  type Policy,
  type PolicyDocument,
  parsePolicyDocument,
  ReadOnlyAccess,
  type Statement,
} from "../src/index";

const SERVICES = ["cluster", "node", "nodepool", "deployment", "pod", "iam", "usage", "invoice"];
const VERBS = ["List", "Describe", "Create", "Delete", "Apply", "Read", "AttachPolicy"];

function requests(): AuthorizationRequest[] {
  const out: AuthorizationRequest[] = [];
  for (let i = 0; i < 64; i += 1) {
    const tenant = `ten_${i % 4}`;
    const service = SERVICES[i % SERVICES.length] ?? "cluster";
    const verb = VERBS[(i * 3) % VERBS.length] ?? "List";
    out.push({
      action: `${service}:${verb}`,
      resource: `brn:berth:${tenant}:cluster/cl_${i % 7}/namespace/ns${i % 3}/deployment/web${i}`,
      context: {
        "berth:TenantId": tenant,
        "berth:PrincipalId": `usr_${i % 5}`,
        "berth:PrincipalType": i % 2 === 0 ? "user" : "serviceAccount",
        "berth:SourceIp": i % 3 === 0 ? "10.1.2.3" : "2001:db8::42",
        "berth:CurrentTime": "2026-05-15T12:00:00Z",
        "berth:EpochTime": "1778846400",
        "berth:SecureTransport": "true",
        "berth:ResourceTag/team": i % 2 === 0 ? "web" : "data",
        "berth:RequestTag/env": "prod",
      },
    });
  }
  return out;
}

function policy(name: string, statements: Statement[]): Policy {
  const parsed = parsePolicyDocument({ Version: "2012-10-17", Statement: statements });
  if (!parsed.ok) throw new Error(`${name}: ${JSON.stringify(parsed.errors)}`);
  return { id: name, name, document: parsed.document };
}

/** Ten policies of ten statements each; none matches (every statement is looked at). */
function wildcardsOnly(): Policy[] {
  return Array.from({ length: 10 }, (_, p) =>
    policy(
      `wild${p}`,
      Array.from({ length: 10 }, (_, s) => ({
        Effect: "Allow" as const,
        Action: [`svc${p}${s}:*`, `*:Verb${s}*`, `other:?et${p}`],
        Resource: [`brn:berth:ten_9:cluster/*/namespace/x${s}/*`, `brn:berth:*:policy/p${p}-?`],
      })),
    ),
  );
}

/** Ten policies of ten statements: the kind of mix a tenant writes, conditions and variables included. */
function realistic(): Policy[] {
  const shapes = (p: number, s: number): Statement => {
    switch (s % 5) {
      case 0:
        return {
          Sid: `Deploy${s}`,
          Effect: "Allow",
          Action: ["deployment:*", "pod:List"],
          Resource: `brn:berth:\${berth:TenantId}:cluster/cl_${p % 7}/*`,
          Condition: {
            StringEquals: { "berth:ResourceTag/team": ["web", "api"] },
            IpAddress: { "berth:SourceIp": ["10.0.0.0/8", "2001:db8::/32"] },
          },
        };
      case 1:
        return {
          Sid: `Window${s}`,
          Effect: "Allow",
          Action: "*:Describe*",
          Resource: "brn:berth:${berth:TenantId}:*",
          Condition: {
            DateGreaterThan: { "berth:CurrentTime": "2026-01-01T00:00:00Z" },
            DateLessThan: { "berth:CurrentTime": "2027-01-01T00:00:00Z" },
            Bool: { "berth:SecureTransport": true },
          },
        };
      case 2:
        return {
          Sid: `NoDeleteProd${s}`,
          Effect: "Deny",
          Action: ["cluster:Delete", "nodepool:Delete"],
          Resource: "*",
          Condition: { StringEqualsIfExists: { "berth:RequestTag/env": "prod" } },
        };
      case 3:
        return {
          Sid: `Self${s}`,
          Effect: "Allow",
          Action: "iam:*",
          Resource: "brn:berth:${berth:TenantId}:user/${berth:PrincipalId}",
        };
      default:
        return {
          Sid: `NotIam${s}`,
          Effect: "Allow",
          NotAction: ["iam:*", "invoice:*"],
          NotResource: `brn:berth:ten_${p % 4}:cluster/cl_${s}`,
          Condition: {
            StringLike: { "berth:PrincipalId": "usr_*" },
            "ForAllValues:StringEquals": { "berth:PrincipalType": ["user", "serviceAccount"] },
          },
        };
    }
  };
  return Array.from({ length: 10 }, (_, p) =>
    policy(
      `mix${p}`,
      Array.from({ length: 10 }, (_, s) => shapes(p, s)),
    ),
  );
}

function measure(label: string, run: (i: number) => void, iterations: number): void {
  const rounds: number[] = [];
  for (let r = 0; r < 7; r += 1) {
    const started = performance.now();
    for (let i = 0; i < iterations; i += 1) run(i);
    rounds.push(performance.now() - started);
  }
  rounds.sort((a, b) => a - b);
  const median = rounds[3] ?? 0;
  const perSecond = Math.round((iterations / median) * 1000);
  console.log(
    `${label.padEnd(62)} ${perSecond.toLocaleString("en-US").padStart(12)} evaluations/s  (${((median / iterations) * 1000).toFixed(2)} µs each)`,
  );
}

const reqs = requests();
const pick = (i: number): AuthorizationRequest =>
  reqs[i % reqs.length] ?? reqs[0] ?? { action: "", resource: "", context: {} };

const cases: [string, Policy[]][] = [
  ["managed: ClusterAdmin + ReadOnlyAccess + BillingViewer", [ClusterAdmin, ReadOnlyAccess, BillingViewer]],
  ["10 policies × 10 statements, wildcards only, nothing matches", wildcardsOnly()],
  ["10 policies × 10 statements, conditions and variables", realistic()],
];

console.log(`node ${process.version}, ${reqs.length} rotating requests, median of 7 rounds`);
for (const [label, policies] of cases) {
  for (let i = 0; i < 20_000; i += 1) evaluate(policies, pick(i)); // warm up the JIT
  measure(label, (i) => evaluate(policies, pick(i)), 50_000);
}

// Cold: documents arrive as fresh objects (JSON from the database, say), so each one is compiled.
const stored: string[] = realistic().map((p) => JSON.stringify(p.document));
measure(
  "10 × 10 with conditions, documents re-read as JSON every time (cold)",
  (i) => {
    const fresh = stored.map((json, k) => ({
      id: `p${k}`,
      name: `p${k}`,
      document: JSON.parse(json) as PolicyDocument,
    }));
    evaluate(fresh, pick(i));
  },
  2_000,
);
