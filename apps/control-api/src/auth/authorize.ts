import { ForbiddenError, UnauthenticatedError } from "@berth/core";
import {
  apiKeys,
  clusters,
  policies,
  policyAttachments,
  refreshTokens,
  type Tx,
  withTenant,
} from "@berth/db";
import {
  type EvaluationResult,
  evaluate,
  type ManagedPolicy,
  managedPolicies,
  type PolicyDocument,
} from "@berth/iam";
import { and, eq, inArray, isNotNull } from "drizzle-orm";
import { Counter, type Registry } from "prom-client";
import type { Deps, UserCaller } from "../deps";
import type { AssignmentHub } from "../push/hub";
import { findPrincipal } from "../services/principals";
import type { AccessClaims } from "./access-tokens";
import { AdmissionCache } from "./admission-cache";
import type { AdmittedNode } from "./node-credentials";

/** Managed policies are attached, listed and addressed in the API by their name ("ReadOnlyAccess"). */
const MANAGED: readonly ManagedPolicy[] = Object.values(managedPolicies);
const MANAGED_BY_NAME = new Map<string, ManagedPolicy>(MANAGED.map((p) => [p.name, p]));
export const managedPolicyNamed = (name: string): ManagedPolicy | undefined => MANAGED_BY_NAME.get(name);
export { MANAGED as managedPolicyList };

export interface AttachedPolicy {
  id: string;
  name: string;
  document: PolicyDocument;
}

/** Every policy attached to a principal: managed ones by name, the tenant's own by id. */
export async function policiesOf(tx: Tx, principalId: string): Promise<AttachedPolicy[]> {
  const attached = await tx
    .select({ policyId: policyAttachments.policyId })
    .from(policyAttachments)
    .where(eq(policyAttachments.principalId, principalId));
  const out: AttachedPolicy[] = [];
  const own: string[] = [];
  for (const { policyId } of attached) {
    const managed = managedPolicyNamed(policyId);
    if (managed) out.push({ id: managed.id, name: managed.name, document: managed.document });
    else own.push(policyId);
  }
  const uncached = own.filter((id) => !documentCache.has(id));
  if (uncached.length > 0) {
    const rows = await tx.select().from(policies).where(inArray(policies.id, uncached));
    for (const r of rows)
      remember({ id: r.id, name: r.name, document: r.document as unknown as PolicyDocument });
  }
  for (const id of own) {
    const cached = documentCache.get(id);
    if (cached) out.push(cached);
  }
  return out;
}

/**
 * A tenant's policies never change once created (there is no update, only new policies), so each
 * is read and handed to the evaluator as the same object every time: the evaluator compiles a
 * document's patterns once per object. Bounded; the oldest entries go first. Row-level security
 * still decides who may load a policy: the cache is filled only from the caller's tenant, and it is
 * keyed by ids the caller's own attachments name.
 */
const documentCache = new Map<string, AttachedPolicy>();
const DOCUMENT_CACHE_SIZE = 10_000;
function remember(p: AttachedPolicy): void {
  if (documentCache.size >= DOCUMENT_CACHE_SIZE) {
    const oldest = documentCache.keys().next().value;
    if (oldest !== undefined) documentCache.delete(oldest);
  }
  documentCache.set(p.id, p);
}

/**
 * The replica's caches of what admits a caller: principals' admissions and verified node
 * credentials. Each is emptied of a principal (or cluster) as soon as the hub hears that something
 * it was made of changed, and whole when notifications may have been lost; off while not listening.
 */
export function authCachesFor(
  hub: AssignmentHub,
  metrics?: Registry,
): { admissions: AdmissionCache<AdmissionFacts>; nodeCredentials: AdmissionCache<AdmittedNode> } {
  const lookups = metrics
    ? new Counter({
        name: "berth_admission_cache_lookups_total",
        help: "Admissions answered from the replica's cache (hit) or read from Postgres (miss), by cache: principal (tokens, API keys) or node (node credentials)",
        labelNames: ["cache", "result"],
        registers: [metrics],
      })
    : undefined;
  const cacheOf = <T>(cache: "principal" | "node") =>
    new AdmissionCache<T>({
      enabled: () => hub.listening,
      onLookup: (hit) => lookups?.inc({ cache, result: hit ? "hit" : "miss" }),
    });
  const admissions = cacheOf<AdmissionFacts>("principal");
  const nodeCredentials = cacheOf<AdmittedNode>("node");
  // Principals' ids and clusters' ids never collide (their prefixes differ): each cache drops its own.
  hub.onChange("auth", (id) => {
    admissions.invalidate(id);
    nodeCredentials.invalidate(id);
  });
  return { admissions, nodeCredentials };
}

/** What admits a principal's token, as read from Postgres (cached per replica: admission-cache.ts). */
export interface AdmissionFacts {
  principal: { status: string; type: string; sessionsValidAfter: number | undefined } | null;
  /** The token's session was signed out. */
  sessionRevoked: boolean;
  /** The API key the token came from (null: it does not exist; undefined: the token names none). */
  apiKey: { principalId: string; revoked: boolean; expiresAt: number | undefined } | null | undefined;
  policies: AttachedPolicy[];
}

async function readAdmission(deps: Deps, claims: AccessClaims): Promise<AdmissionFacts> {
  return withTenant(deps.db, claims.tenantId, async (tx) => {
    const principal = await findPrincipal(tx, claims.principalId);
    if (!principal) return { principal: null, sessionRevoked: false, apiKey: undefined, policies: [] };
    let sessionRevoked = false;
    if (claims.sessionId) {
      const [revoked] = await tx
        .select({ id: refreshTokens.id })
        .from(refreshTokens)
        .where(and(eq(refreshTokens.familyId, claims.sessionId), isNotNull(refreshTokens.revokedAt)))
        .limit(1);
      sessionRevoked = revoked !== undefined;
    }
    let apiKey: AdmissionFacts["apiKey"];
    if (claims.apiKeyId) {
      const [key] = await tx.select().from(apiKeys).where(eq(apiKeys.id, claims.apiKeyId));
      apiKey = key
        ? {
            principalId: key.principalId,
            revoked: key.revokedAt !== null,
            expiresAt: key.expiresAt?.getTime(),
          }
        : null;
    }
    return {
      principal: {
        status: principal.status,
        type: principal.type,
        sessionsValidAfter: principal.sessionsValidAfter?.getTime(),
      },
      sessionRevoked,
      apiKey,
      policies: await policiesOf(tx, principal.id),
    };
  });
}

/**
 * Admits the principal behind a verified token: it must still exist and be active, the token must
 * be newer than its last credential change (password set, signed out everywhere), its session must
 * not have been signed out, and the API key the token came from must be neither revoked nor
 * expired. Returns its policies for authorisation. Checked on every request against what Postgres
 * says, through the replica's cache that every change to these empties at once (`deps.admissions`).
 */
export async function admit(
  deps: Deps,
  claims: AccessClaims & { issuedAt: number },
): Promise<AttachedPolicy[]> {
  const fail = () => new UnauthenticatedError("the access token is invalid or expired");
  const key = `${claims.principalId}|${claims.sessionId ?? ""}|${claims.apiKeyId ?? ""}`;
  const facts = await deps.admissions.get(claims.principalId, key, () => readAdmission(deps, claims));
  const { principal, apiKey } = facts;
  if (principal?.status !== "active" || principal.type !== claims.principalType) throw fail();
  // iat has whole seconds: a token of the same second as the change is still accepted.
  const cutoff = principal.sessionsValidAfter;
  if (cutoff !== undefined && claims.issuedAt < Math.floor(cutoff / 1000) * 1000) throw fail();
  if (claims.sessionId && facts.sessionRevoked) throw fail();
  if (claims.apiKeyId) {
    const now = deps.now().getTime();
    if (
      !apiKey ||
      apiKey.principalId !== claims.principalId ||
      apiKey.revoked ||
      (apiKey.expiresAt !== undefined && apiKey.expiresAt <= now)
    )
      throw fail();
  }
  return facts.policies;
}

export interface RequestFacts {
  sourceIp: string;
  secureTransport: boolean;
}

const CLUSTER_RESOURCE = /^brn:berth:[^:]+:cluster\/(cl_[0-9a-z]+)/;

/** The IAM request context: who, from where, when, and the tags of the resource when a policy asks for them. */
async function contextFor(
  deps: Deps,
  caller: UserCaller,
  resource: string,
  facts: RequestFacts,
  wantsTags: boolean,
  overrides: Record<string, string>,
) {
  const now = deps.now();
  const context: Record<string, string | undefined> = {
    "berth:SourceIp": facts.sourceIp,
    "berth:CurrentTime": now.toISOString(),
    "berth:EpochTime": String(Math.floor(now.getTime() / 1000)),
    "berth:PrincipalId": caller.principalId,
    "berth:PrincipalType": caller.principalType,
    "berth:TenantId": caller.tenantId,
    "berth:SecureTransport": String(facts.secureTransport),
  };
  const clusterId = CLUSTER_RESOURCE.exec(resource)?.[1];
  if (wantsTags && clusterId) {
    const [row] = await withTenant(deps.db, caller.tenantId, (tx) =>
      tx.select({ tags: clusters.tags }).from(clusters).where(eq(clusters.id, clusterId)),
    );
    for (const [k, v] of Object.entries(row?.tags ?? {})) context[`berth:ResourceTag/${k}`] = v;
  }
  return { ...context, ...overrides };
}

/** Whether a policy document has a condition on the resource's tags, once per document object. */
const tagsAsked = new WeakMap<object, boolean>();
function asksForTags(document: AttachedPolicy["document"]): boolean {
  let asks = tagsAsked.get(document);
  if (asks === undefined) {
    asks = JSON.stringify(document).includes("ResourceTag/");
    tagsAsked.set(document, asks);
  }
  return asks;
}

export async function evaluateFor(
  deps: Deps,
  caller: UserCaller,
  policySet: AttachedPolicy[],
  action: string,
  resource: string,
  facts: RequestFacts,
  overrides: Record<string, string> = {},
): Promise<EvaluationResult> {
  const wantsTags = policySet.some((p) => asksForTags(p.document));
  const context = await contextFor(deps, caller, resource, facts, wantsTags, overrides);
  return evaluate(policySet, { action, resource, context });
}

/** Throws FORBIDDEN unless the caller's policies allow `action` on `resource` (default deny; an explicit Deny wins). */
export async function authorize(
  deps: Deps,
  caller: UserCaller,
  action: string,
  resource: string,
  facts: RequestFacts,
): Promise<void> {
  const result = await evaluateFor(deps, caller, caller.policies, action, resource, facts);
  if (result.decision === "Allow") return;
  const why =
    result.decision === "ExplicitDeny" && result.decidingStatement
      ? `an explicit Deny in ${result.decidingStatement.policyName}${result.decidingStatement.sid ? ` (${result.decidingStatement.sid})` : ""}`
      : "no policy allows it";
  throw new ForbiddenError(`${caller.principalId} is not allowed to ${action} on ${resource}: ${why}`);
}
