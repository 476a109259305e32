import type { BerthError } from "@berth/core";
import { authorize } from "../auth/authorize";
import type { Caller, Deps } from "../deps";
import type { AnyOperation, CallerOf, RequestMeta } from "../operation";
import { recordAudit } from "../services/audit";

/** What is known of a call so far, for its audit record. */
export interface Scratch {
  caller?: Caller;
  resource?: string;
  /** Set by public operations that learn whom a call concerns (a failed login of a known account). */
  attributedTo?: { tenantId: string; principalId: string; principalType: string };
}

/** Authorises the operation for the caller (IAM, for tenant principals) and runs it. */
export async function authorizeAndRun(
  deps: Deps,
  op: AnyOperation,
  caller: Caller,
  input: unknown,
  meta: RequestMeta,
  scratch: Scratch,
): Promise<unknown> {
  if (caller.kind === "user" || caller.kind === "node") {
    scratch.resource = op.resource(caller as CallerOf<typeof op.auth>, input);
  }
  if (caller.kind === "user" && op.authorization !== "authenticated") {
    await authorize(deps, caller, op.action, scratch.resource ?? "*", meta);
  }
  return op.run(deps, caller as CallerOf<typeof op.auth>, input, meta);
}

const AUTH_FAILURES = new Set(["UNAUTHENTICATED", "FORBIDDEN", "RATE_LIMITED"]);

/** Records the call in the audit log when it must be: every write, and every failed authentication or authorisation. */
export async function auditOutcome(
  deps: Deps,
  op: AnyOperation,
  meta: RequestMeta,
  scratch: Scratch,
  error: BerthError | null,
  status: number,
): Promise<void> {
  const mode = op.audit ?? (op.method === "GET" ? "failures" : "always");
  if (mode === "failures" && !(error && AUTH_FAILURES.has(error.code))) return;
  const caller = scratch.caller;
  const who =
    caller?.kind === "user"
      ? { tenantId: caller.tenantId, principalId: caller.principalId, principalType: caller.principalType }
      : caller?.kind === "node"
        ? { tenantId: caller.tenantId, principalId: caller.nodeId, principalType: "node" }
        : (scratch.attributedTo ?? { tenantId: null, principalId: null, principalType: null });
  await recordAudit(deps, {
    ...who,
    action: op.action,
    resource: scratch.resource ?? "*",
    result: error === null ? "success" : error.code === "FORBIDDEN" ? "denied" : "failure",
    status,
    errorCode: error?.code ?? null,
    requestId: meta.requestId,
    sourceIp: meta.sourceIp,
    userAgent: meta.userAgent,
  });
}
