import {
  encryptSecret,
  idOf,
  NotFoundError,
  newId,
  newWebhookSecret,
  QuotaExceededError,
  ValidationError,
  WEBHOOK_EVENT_TYPES,
  webhookUrlProblem,
} from "@berth/core";
import { type Tx, webhookDeliveries, webhookEndpoints, withTenant } from "@berth/db";
import { and, desc, eq, lt, sql } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { page, pageInput } from "./paging";
import { timestamp } from "./replies";

/**
 * Webhook endpoints (README, "Budgets and webhooks"). The signing secret is made by the server,
 * answered once by the creation, and kept sealed under the master key (envelope encryption, the
 * endpoint's id as context); deliveries are the provisioner's.
 */
export const MAX_WEBHOOKS_PER_TENANT = 10;
export const webhookId = idOf("webhook");

export const createWebhookInput = z
  .object({
    url: z.string().max(2048),
    events: z
      .array(z.enum(WEBHOOK_EVENT_TYPES))
      .min(1)
      .max(WEBHOOK_EVENT_TYPES.length)
      .transform((e) => [...new Set(e)]),
  })
  .strict();
export const webhookRefInput = z.object({ webhookId }).strict();
export const listWebhooksInput = z.object({}).strict();
export const listDeliveriesInput = pageInput.extend({ webhookId }).strict();

export const webhookReply = z.strictObject({
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
  createdAt: timestamp,
});
/** A new endpoint: the only reply that carries its signing secret. */
export const createdWebhookReply = webhookReply.extend({
  secret: z.string().describe("the signing secret, `whsec_…`: shown once, never again"),
});
export const deliveryReply = z.strictObject({
  id: z.string(),
  eventId: z.string(),
  eventType: z.enum(WEBHOOK_EVENT_TYPES),
  status: z.enum(["pending", "succeeded", "failed"]),
  attempts: z.number().int(),
  lastStatusCode: z.number().int().nullable().describe("the HTTP status of the last answer"),
  lastError: z.string().nullable(),
  lastDurationMs: z.number().int().nullable(),
  createdAt: timestamp,
  lastAttemptAt: timestamp.nullable(),
  completedAt: timestamp.nullable(),
  payload: z
    .strictObject({
      id: z.string(),
      type: z.enum(WEBHOOK_EVENT_TYPES),
      created: z.number().int().describe("Unix seconds"),
      data: z.record(z.string(), z.unknown()),
    })
    .describe("the event's body as sent"),
});

type DeliveryView = z.output<typeof deliveryReply>;
type EndpointRow = typeof webhookEndpoints.$inferSelect;
const view = (e: EndpointRow): z.output<typeof webhookReply> => ({
  id: e.id,
  url: e.url,
  events: e.events,
  createdAt: e.createdAt.toISOString(),
});

async function loadEndpoint(tx: Tx, tenantId: string, id: string): Promise<EndpointRow> {
  const [e] = await tx
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.id, id)));
  if (!e) throw new NotFoundError("webhook", id);
  return e;
}

/** Registers an endpoint; the answer carries its signing secret, the only time it is shown. */
export async function createWebhook(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof createWebhookInput>,
): Promise<z.output<typeof createdWebhookReply>> {
  const problem = webhookUrlProblem(input.url, { allowLoopbackHttp: deps.webhookAllowLoopback });
  if (problem) throw new ValidationError(`url: ${problem}`, [{ path: "url", message: problem }]);
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('berth:webhooks:' || ${caller.tenantId}))`);
    const [{ n } = { n: 0 }] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.tenantId, caller.tenantId));
    if (n >= MAX_WEBHOOKS_PER_TENANT)
      throw new QuotaExceededError(`a tenant may have at most ${MAX_WEBHOOKS_PER_TENANT} webhook endpoints`);
    const id = newId("webhook");
    const secret = newWebhookSecret();
    const [row] = await tx
      .insert(webhookEndpoints)
      .values({
        id,
        tenantId: caller.tenantId,
        url: input.url,
        events: input.events,
        secretSealed: encryptSecret(deps.master, secret, id),
      })
      .returning();
    if (!row) throw new Error("insert returned nothing");
    return { ...view(row), secret };
  });
}

export async function listWebhooks(deps: Deps, caller: UserCaller) {
  const rows = await withTenant(deps.db, caller.tenantId, (tx) =>
    tx
      .select()
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.tenantId, caller.tenantId))
      .orderBy(desc(webhookEndpoints.id)),
  );
  return { items: rows.map(view) };
}

/** Deletes an endpoint and its delivery log (one statement: the deliveries cascade); nothing more is sent to it. */
export async function deleteWebhook(deps: Deps, caller: UserCaller, input: z.infer<typeof webhookRefInput>) {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    const [gone] = await tx
      .delete(webhookEndpoints)
      .where(and(eq(webhookEndpoints.tenantId, caller.tenantId), eq(webhookEndpoints.id, input.webhookId)))
      .returning({ id: webhookEndpoints.id });
    if (!gone) throw new NotFoundError("webhook", input.webhookId);
    return { id: gone.id, deleted: true };
  });
}

/** The endpoint's delivery log, newest first: status, attempts, the last answer or error, timings. */
export async function listDeliveries(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof listDeliveriesInput>,
): Promise<{ items: DeliveryView[]; nextCursor: string | null }> {
  const rows = await withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadEndpoint(tx, caller.tenantId, input.webhookId);
    return tx
      .select()
      .from(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.tenantId, caller.tenantId),
          eq(webhookDeliveries.endpointId, input.webhookId),
          input.cursor ? lt(webhookDeliveries.id, input.cursor) : undefined,
        ),
      )
      .orderBy(desc(webhookDeliveries.id))
      .limit(input.limit + 1);
  });
  return page(
    rows.map((d) => ({
      id: d.id,
      eventId: d.eventId,
      eventType: d.eventType,
      status: d.status,
      attempts: d.attempts,
      lastStatusCode: d.lastStatusCode,
      lastError: d.lastError,
      lastDurationMs: d.lastDurationMs,
      createdAt: d.createdAt.toISOString(),
      lastAttemptAt: d.lastAttemptAt?.toISOString() ?? null,
      completedAt: d.completedAt?.toISOString() ?? null,
      // The exact bytes sent, written by the budget evaluation (packages/db/src/budgets.ts).
      payload: JSON.parse(d.body) as DeliveryView["payload"],
    })),
    input.limit,
  );
}
