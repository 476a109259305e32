import { BerthError, SemaphoreTimeoutError } from "@berth/core";
import type { ChangeRecord } from "@berth/db";
import { z } from "zod";
import type { PrincipalType } from "../auth/access-tokens";
import { principalWindows } from "../auth/authenticate";
import { authorize } from "../auth/authorize";
import { hit } from "../auth/rate-limit";
import type { Caller, Deps } from "../deps";
import type { AnyOperation, CallerOf, RequestMeta } from "../operation";
import { type AuditEntry, auditedChange, recordAudit } from "../services/audit";
import { bumpReadVersion } from "../services/read-cache";

/** What is known of a call so far, for its audit record. */
export interface Scratch {
  caller?: Caller;
  resource?: string;
  /** Set by public operations that learn whom a call concerns (a failed login of a known account). */
  attributedTo?: { tenantId: string; principalId: string; principalType: PrincipalType };
  /** The operation's `auditDetails` of the validated input. */
  details?: Record<string, unknown>;
  /** Ends the call's place in the foreground (see foreground.ts); an expensive call leaves it early. */
  leaveForeground?: () => void;
  /** The call's success entry was committed with its change (see auditedChange). */
  audited?: boolean;
  /** Rate-limit units already charged when the caller was authenticated (default 1). */
  charged?: number;
  /** What the call's change told the replicas of, when known (see ChangeRecord.notified). */
  notified?: ChangeRecord["notified"];
}

/**
 * What a call costs in the rate-limit windows: 1, or for a list the rows it may read (one unit per
 * 50), so that listing 500 rows is not as cheap as reading one.
 */
export function costOf(op: AnyOperation, input: unknown): number {
  if (op.cost) return op.cost(input);
  const limit = (input as { limit?: unknown } | null)?.limit;
  return typeof limit === "number" ? Math.max(1, Math.ceil(limit / 50)) : 1;
}

/** Calls this costly hold one of the tenant's few slots for expensive calls while they run. */
const EXPENSIVE_COST = 3;
const EXPENSIVE_WAIT_MS = 5_000;

/**
 * Authorises the operation for the caller (IAM, for tenant principals) and runs it. A write of a
 * tenant's principal (or an anonymous one: sign-up, sign-in, refresh) is answered only once this
 * replica has heard every change it committed: what it changed of a principal's admission (a user
 * disabled, a key revoked, a policy detached) holds for the caller's next request, here too. A
 * tenant principal's write that changed what the tenant reads also gives the tenant a new read
 * version, so that no replica answers its next read from what it cached before
 * (services/read-cache.ts). An audited write knows what it changed: it waits, or bumps, only for
 * that (most writes neither: a join token, a deployment).
 */
export async function authorizeAndRun(
  deps: Deps,
  op: AnyOperation,
  caller: Caller,
  input: unknown,
  meta: RequestMeta,
  scratch: Scratch,
): Promise<unknown> {
  const value = await authorizedRun(deps, op, caller, input, meta, scratch);
  if (op.method === "GET") return value;
  if (caller.kind === "user") {
    const told = scratch.notified?.unmarked === false ? scratch.notified : { auth: true, read: true };
    await Promise.all([
      told.auth ? deps.assignments.barrier() : undefined,
      told.read ? bumpReadVersion(deps, caller.tenantId) : undefined,
    ]);
  } else if (caller.kind === "anonymous") await deps.assignments.barrier();
  return value;
}

async function authorizedRun(
  ...[deps, op, caller, input, meta, scratch]: Parameters<typeof authorizeAndRun>
) {
  if (caller.kind === "user" || caller.kind === "node") {
    scratch.resource = await op.resource(caller as CallerOf<typeof op.auth>, input, deps);
  }
  if (op.auditDetails) scratch.details = op.auditDetails(input);
  if (caller.kind === "user" && op.authorization !== "authenticated") {
    await authorize(deps, caller, op.action, scratch.resource ?? "*", meta);
  }
  if (op.longPoll) scratch.leaveForeground?.();
  const execute = deps.checkReplies
    ? async (d: Deps) => checkedReply(op, await op.run(d, caller as CallerOf<typeof op.auth>, input, meta))
    : (d: Deps) => op.run(d, caller as CallerOf<typeof op.auth>, input, meta);
  // A streamed or upgraded call's entry is written once it is answered, as before.
  const plain = op.transport !== "stream" && op.transport !== "websocket";
  const entry = plain && auditMode(op) === "always" ? auditEntry(op, meta, scratch) : null;
  const tenantId = entry?.tenantId;
  const run =
    entry && tenantId
      ? async () => {
          const { value, recorded, notified } = await auditedChange(deps, { ...entry, tenantId }, execute);
          scratch.audited = recorded;
          scratch.notified = notified;
          return value;
        }
      : () => execute(deps);
  const cost = costOf(op, input);
  if (caller.kind !== "user" || cost === 1) return run();
  // What was counted when the caller was authenticated (1 unit, or a read's whole cost).
  const charged = scratch.charged ?? 1;
  if (cost > charged)
    await hit(deps.redis, deps.queues.prefix, principalWindows(deps, caller), "requests", {
      cost: cost - charged,
    });
  if (cost < EXPENSIVE_COST) return run();
  scratch.leaveForeground?.();
  try {
    return await deps.expensiveCalls.run(caller.tenantId, run, { timeoutMs: EXPENSIVE_WAIT_MS });
  } catch (error) {
    if (!(error instanceof SemaphoreTimeoutError)) throw error;
    throw new BerthError(
      "RATE_LIMITED",
      "too many large list requests of this tenant at once; retry shortly",
      {
        retryable: true,
        details: { retryAfterSeconds: 1 },
      },
    );
  }
}

/** The reply, if it matches the operation's documented schema as JSON; else an error naming what differs. */
function checkedReply(op: AnyOperation, value: unknown): unknown {
  if (!op.output || op.transport === "stream" || op.transport === "websocket") return value;
  const result = op.output.safeParse(JSON.parse(JSON.stringify(value ?? null)));
  if (result.success) return value;
  throw new Error(
    `the reply of ${op.id} does not match its output schema:\n${z.prettifyError(result.error)}`,
  );
}

const AUTH_FAILURES = new Set(["UNAUTHENTICATED", "FORBIDDEN", "RATE_LIMITED"]);

/** Which calls are recorded: every write, and every failed authentication or authorisation. */
const auditMode = (op: AnyOperation) => op.audit ?? (op.method === "GET" ? "failures" : "always");

/** The audit entry of a call: a success unless `error` is given. */
function auditEntry(
  op: AnyOperation,
  meta: RequestMeta,
  scratch: Scratch,
  error: BerthError | null = null,
  status: number = op.successStatus,
): AuditEntry {
  const caller = scratch.caller;
  const who =
    caller?.kind === "user"
      ? { tenantId: caller.tenantId, principalId: caller.principalId, principalType: caller.principalType }
      : caller?.kind === "node"
        ? { tenantId: caller.tenantId, principalId: caller.nodeId, principalType: "node" as const }
        : (scratch.attributedTo ?? { tenantId: null, principalId: null, principalType: null });
  return {
    ...who,
    action: op.action,
    resource: scratch.resource ?? "*",
    result: error === null ? "success" : error.code === "FORBIDDEN" ? "denied" : "failure",
    status,
    errorCode: error?.code ?? null,
    requestId: meta.requestId,
    sourceIp: meta.sourceIp,
    userAgent: meta.userAgent,
    details: scratch.details ?? null,
  };
}

/**
 * Records the call in the audit log when it must be (see auditMode), unless its success entry was
 * already committed with its change.
 */
export async function auditOutcome(
  deps: Deps,
  op: AnyOperation,
  meta: RequestMeta,
  scratch: Scratch,
  error: BerthError | null,
  status: number,
): Promise<void> {
  const mode = auditMode(op);
  if (mode === "failures" && !(error && AUTH_FAILURES.has(error.code))) return;
  if (error === null && scratch.audited) return;
  await recordAudit(deps, auditEntry(op, meta, scratch, error, status));
}
