import { BerthError, UnauthenticatedError, ValidationError } from "@berth/core";
import {
  PUBLIC_NAMESPACE,
  parseScope,
  type RegistrySigningKey,
  type ResourceAccess,
  signRegistryToken,
  splitRepository,
  tenantNamespace,
} from "@berth/registry";
import { decodeJwt } from "jose";
import { z } from "zod";
import { API_AUDIENCE } from "../auth/access-tokens";
import { admittedUser, apiKeyClaims } from "../auth/authenticate";
import { evaluateFor } from "../auth/authorize";
import { verifyNodeCredential } from "../auth/node-credentials";
import type { Deps, UserCaller } from "../deps";
import type { RequestMeta } from "../operation";

/**
 * The registry's token service (the Docker token protocol): `GET /v1/registry/token?service=…&
 * scope=repository:<name>:pull,push` with Basic auth — any user name, and as the password a Berth
 * API key, an access token, or a node credential. The token grants, of what was asked:
 *   <tenant id>/…  pull and push to the tenant's principals, each as its IAM policies allow
 *                  (`registry:Pull`, `registry:Push` on `brn:berth:<tenant>:repository/<name>`);
 *                  pull to the tenant's nodes;
 *   library/…      pull to every tenant's principals (same IAM check) and nodes; push to no one
 *                  (the platform signs its own tokens to publish there);
 * and nothing else: the registry itself then refuses the request (401).
 */

export interface RegistryTokenSettings {
  readonly key: RegistrySigningKey;
  /** The registry's `auth.token.issuer`. */
  readonly issuer: string;
  /** The registry's `auth.token.service`: the tokens' audience, and what clients send as `service`. */
  readonly service: string;
  readonly ttlSeconds: number;
}

const scopeText = z.string().min(1).max(512);

export const registryTokenInput = z.object({
  service: z.string().min(1).max(255),
  // Docker clients repeat `scope` for several repositories (a cross-repository mount).
  scope: z
    .union([scopeText, z.array(scopeText).max(10)])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])),
  // Sent by Docker clients; identity comes from the credentials alone.
  account: z.string().max(255).optional(),
  client_id: z.string().max(255).optional(),
  offline_token: z.string().max(16).optional(),
});

export const registryTokenReply = z.strictObject({
  token: z.string(),
  access_token: z.string(),
  expires_in: z.number().int(),
  issued_at: z.string(),
});

type Grantee = { kind: "user"; caller: UserCaller } | { kind: "node"; tenantId: string; nodeId: string };

const CREDENTIALS_HINT =
  "send Basic auth: any user name, and a Berth API key, access token or node credential as the password";

function secretOf(authorization: string | undefined): string {
  const basic = /^Basic ([A-Za-z0-9+/=]{1,8192})$/.exec(authorization ?? "");
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    const password = colon === -1 ? "" : decoded.slice(colon + 1);
    if (password) return password;
  }
  const bearer = /^Bearer ([A-Za-z0-9._~+/=-]{10,4096})$/.exec(authorization ?? "");
  if (bearer?.[1]) return bearer[1];
  throw new UnauthenticatedError(`the registry token service needs credentials: ${CREDENTIALS_HINT}`);
}

async function granteeOf(deps: Deps, secret: string): Promise<Grantee> {
  if (secret.startsWith("brk_"))
    return { kind: "user", caller: await admittedUser(deps, await apiKeyClaims(deps, secret)) };
  let audience: unknown;
  try {
    audience = decodeJwt(secret).aud;
  } catch {
    throw new UnauthenticatedError(`the credentials are not valid: ${CREDENTIALS_HINT}`);
  }
  if (audience === API_AUDIENCE) {
    return { kind: "user", caller: await admittedUser(deps, await deps.tokens.verify(secret)) };
  }
  const node = await verifyNodeCredential(deps, secret);
  return { kind: "node", tenantId: node.tenantId, nodeId: node.nodeId };
}

const ACTIONS = { pull: "registry:Pull", push: "registry:Push" } as const;

/** What of one requested scope the grantee gets (possibly nothing). */
async function grant(
  deps: Deps,
  who: Grantee,
  scope: { type: string; name: string; actions: string[] },
  meta: RequestMeta,
): Promise<string[]> {
  const repo = scope.type === "repository" ? splitRepository(scope.name) : null;
  if (!repo) return [];
  const tenantId = who.kind === "user" ? who.caller.tenantId : who.tenantId;
  const own = repo.namespace === tenantNamespace(tenantId);
  if (!own && repo.namespace !== PUBLIC_NAMESPACE) return [];
  const possible = scope.actions.filter(
    (a): a is "pull" | "push" => a === "pull" || (a === "push" && own && who.kind === "user"),
  );
  if (who.kind === "node") return possible;
  const allowed: string[] = [];
  for (const action of possible) {
    const resource = `brn:berth:${tenantId}:repository/${scope.name}`;
    const result = await evaluateFor(deps, who.caller, who.caller.policies, ACTIONS[action], resource, meta);
    if (result.decision === "Allow") allowed.push(action);
  }
  return allowed;
}

export async function issueRegistryToken(
  deps: Deps,
  input: z.output<typeof registryTokenInput>,
  meta: RequestMeta,
): Promise<z.infer<typeof registryTokenReply>> {
  const settings = deps.registry;
  if (!settings)
    throw new BerthError(
      "NOT_FOUND",
      "this control plane serves no registry (REGISTRY_TOKEN_KEY_FILE is unset)",
    );
  if (input.service !== settings.service)
    throw new ValidationError(
      `this token service issues tokens for ${JSON.stringify(settings.service)} only`,
      [{ path: "service", message: `expected ${JSON.stringify(settings.service)}` }],
    );
  const scopes = input.scope.map((text, i) => {
    const scope = parseScope(text);
    if (!scope)
      throw new ValidationError(`scope ${JSON.stringify(text)} is not <type>:<name>:<actions>`, [
        { path: `scope.${i}`, message: "expected e.g. repository:<namespace>/<repo>:pull,push" },
      ]);
    return scope;
  });
  const who = await granteeOf(deps, secretOf(meta.authorization));
  const access: ResourceAccess[] = [];
  for (const scope of scopes) {
    const actions = await grant(deps, who, scope, meta);
    if (actions.length > 0) access.push({ type: scope.type, name: scope.name, actions });
  }
  const signed = signRegistryToken(settings.key, {
    issuer: settings.issuer,
    service: settings.service,
    subject: who.kind === "user" ? who.caller.principalId : who.nodeId,
    access,
    ttlSeconds: settings.ttlSeconds,
    now: deps.now(),
  });
  return {
    token: signed.token,
    access_token: signed.token,
    expires_in: signed.expiresIn,
    issued_at: signed.issuedAt.toISOString(),
  };
}
