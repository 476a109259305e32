import { instantSchema, newId } from "@berth/core";
import {
  auditEvents,
  type ChangeRecord,
  recordingChanges,
  TRANSACTION_CHANGED,
  withSystem,
  withTenant,
} from "@berth/db";
import { and, desc, eq, gte, lt, lte } from "drizzle-orm";
import { z } from "zod";
import type { PrincipalType } from "../auth/access-tokens";
import type { Deps, UserCaller } from "../deps";
import { pageInput } from "./paging";
import { timestamp } from "./replies";

/** Who made a call: a tenant's principal, or a node (its agent). */
export type AuditPrincipalType = PrincipalType | "node";

export interface AuditEntry {
  tenantId: string | null;
  principalId: string | null;
  principalType: AuditPrincipalType | null;
  action: string;
  resource: string;
  result: "success" | "denied" | "failure";
  status: number;
  errorCode: string | null;
  requestId: string;
  sourceIp: string;
  userAgent: string;
  /** What else the operation records (an exec's command); never output, never secrets. */
  details?: Record<string, unknown> | null;
}

/** The row of an entry, as both ways of writing it insert it. */
function auditRow(deps: Deps, e: AuditEntry) {
  return {
    id: newId("audit"),
    ...e,
    status: String(e.status),
    userAgent: e.userAgent.slice(0, 256),
    time: deps.now(),
  };
}

/** Appends to the audit log. Never throws: a failure to audit is logged loudly instead of failing the call. */
export async function recordAudit(deps: Deps, e: AuditEntry): Promise<void> {
  try {
    await withSystem(deps.db, (tx) => tx.insert(auditEvents).values(auditRow(deps, e)));
  } catch (error) {
    deps.logger.error({ err: error, audit: e }, "could not write the audit log");
  }
}

/** The statement that inserts a change's audit entry only when its transaction changed something (see ChangeRecord). */
const INSERT_IF_CHANGED = `insert into audit_events (id, tenant_id, time, principal_id, principal_type, action,
    resource, result, status, error_code, request_id, source_ip, user_agent, details)
  select $1::text, $2::text, $3::timestamptz, $4::text, $5::text, $6::text, $7::text, $8::text,
    $9::text, $10::text, $11::text, $12::text, $13::text, $14::jsonb
  where ${TRANSACTION_CHANGED}`;

/**
 * Runs a tenant's write with its success entry pending: `fn` gets deps whose `db` carries it, and
 * the first transaction of the tenant that changes something writes the entry before it commits
 * (see ChangeRecord). Returns whether it did; when it did not (nothing changed, or not in a tenant
 * transaction), the caller records it after.
 */
export async function auditedChange<T>(
  deps: Deps,
  entry: AuditEntry & { tenantId: string },
  fn: (deps: Deps) => Promise<T>,
): Promise<{ value: T; recorded: boolean; notified: ChangeRecord["notified"] }> {
  const r = auditRow(deps, entry);
  const record: ChangeRecord = {
    tenantId: entry.tenantId,
    committed: false,
    notified: { auth: false, read: false, unmarked: false },
    insert: {
      text: INSERT_IF_CHANGED,
      values: [
        r.id,
        r.tenantId,
        r.time.toISOString(),
        r.principalId,
        r.principalType,
        r.action,
        r.resource,
        r.result,
        r.status,
        r.errorCode,
        r.requestId,
        r.sourceIp,
        r.userAgent,
        r.details == null ? null : JSON.stringify(r.details),
      ],
    },
  };
  const value = await fn({ ...deps, db: recordingChanges(deps.db, record) });
  return { value, recorded: record.committed, notified: record.notified };
}

export const listAuditInput = pageInput
  .extend({
    principalId: z.string().max(64).optional(),
    action: z.string().max(128).optional(),
    result: z.enum(["success", "denied", "failure"]).optional(),
    from: instantSchema.optional(),
    to: instantSchema.optional(),
  })
  .strict();

export const auditEventReply = z.strictObject({
  id: z.string(),
  time: timestamp,
  principalId: z.string().nullable(),
  principalType: z.enum(["user", "serviceAccount", "node"]).nullable(),
  action: z.string(),
  resource: z.string(),
  result: z.enum(["success", "denied", "failure"]),
  status: z.number().int().describe("the HTTP status answered"),
  errorCode: z.string().nullable(),
  requestId: z.string(),
  sourceIp: z.string(),
  userAgent: z.string(),
  details: z
    .record(z.string(), z.unknown())
    .nullable()
    .describe("what else the operation records (an exec's command); never output, never secrets"),
});

export async function listAuditEvents(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof listAuditInput>,
): Promise<{ items: z.output<typeof auditEventReply>[]; nextCursor: string | null }> {
  const rows = await withTenant(deps.db, caller.tenantId, (tx) =>
    tx
      .select()
      .from(auditEvents)
      .where(
        and(
          eq(auditEvents.tenantId, caller.tenantId),
          input.principalId ? eq(auditEvents.principalId, input.principalId) : undefined,
          input.action ? eq(auditEvents.action, input.action) : undefined,
          input.result ? eq(auditEvents.result, input.result) : undefined,
          input.from ? gte(auditEvents.time, new Date(input.from)) : undefined,
          input.to ? lte(auditEvents.time, new Date(input.to)) : undefined,
          input.cursor ? lt(auditEvents.id, input.cursor) : undefined,
        ),
      )
      .orderBy(desc(auditEvents.id))
      .limit(input.limit + 1),
  );
  const items = rows.slice(0, input.limit).map((r) => ({
    id: r.id,
    time: r.time.toISOString(),
    principalId: r.principalId,
    // A text column, written by recordAudit alone.
    principalType: r.principalType as AuditPrincipalType | null,
    action: r.action,
    resource: r.resource,
    result: r.result,
    status: Number(r.status),
    errorCode: r.errorCode,
    requestId: r.requestId,
    sourceIp: r.sourceIp,
    userAgent: r.userAgent,
    details: r.details,
  }));
  return { items, nextCursor: rows.length > input.limit ? (items.at(-1)?.id ?? null) : null };
}
