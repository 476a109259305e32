import { lookup } from "node:dns";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { decryptSecret, signWebhook, WEBHOOK_SIGNATURE_HEADER, webhookAddressProblem } from "@berth/core";
import { webhookDeliveries, webhookEndpoints, withTenant } from "@berth/db";
import { and, eq, sql } from "drizzle-orm";
import type { Deps } from "../deps";
import { failureMessage } from "../failures";

export interface WebhookSettings {
  /** Plain http to loopback addresses (tests, local development); never in production. */
  allowLoopback: boolean;
  /** How long one attempt may take, connection included. */
  timeoutMs: number;
}

/** A delivery that can never succeed (refused address): not retried. */
class RefusedDelivery extends Error {
  readonly retryable = false;
}

/**
 * Resolves like dns.lookup, but refuses a name any of whose addresses is private: the connection
 * then goes to the address checked here, so a name that resolves differently a moment later
 * (DNS rebinding) cannot slip through.
 */
function guardedLookup(allowLoopback: boolean): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 0);
      const list = addresses as { address: string; family: number }[];
      const bad = list
        .map((a) => webhookAddressProblem(a.address, { allowLoopback }))
        .find((p) => p !== null);
      const first = list[0];
      if (bad || !first)
        return callback(new RefusedDelivery(`refused: ${bad ?? `${hostname} has no address`}`), "", 0);
      if (options.all) return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
      callback(null, first.address, first.family);
    });
  };
}

/** One POST; resolves with the status code (any), rejects on a network error or the timeout. */
function post(url: URL, body: string, headers: Record<string, string>, s: WebhookSettings): Promise<number> {
  // An address written in the URL is connected to without a lookup: it is checked here.
  const literal = url.hostname.replace(/^\[|\]$/g, "");
  const problem = isIP(literal) ? webhookAddressProblem(literal, { allowLoopback: s.allowLoopback }) : null;
  if (problem) return Promise.reject(new RefusedDelivery(`refused: ${problem}`));
  return new Promise((resolve, reject) => {
    const request = url.protocol === "https:" ? httpsRequest : httpRequest;
    const req = request(
      url,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
        lookup: guardedLookup(s.allowLoopback),
        signal: AbortSignal.timeout(s.timeoutMs),
      },
      (res) => {
        res.resume(); // the answer's body is not read
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
        // An answer cut off (the timeout's abort included) settles the attempt as a failure.
        res.on("close", () => {
          if (!res.complete) reject(new Error(`the answer was cut off (${res.statusCode})`));
        });
      },
    );
    req.on("error", (e) =>
      reject(e.name === "AbortError" ? new Error(`timed out after ${s.timeoutMs} ms`) : e),
    );
    req.end(body);
  });
}

/**
 * Sends one webhook delivery, signed afresh (`Berth-Signature: t=…,v1=…`) over the body stored
 * when the event fired. A delivery already answered 2xx (or given up) is not sent again. Each
 * attempt's outcome is written to the delivery log; a non-2xx answer or a network error throws,
 * and BullMQ retries with exponential back-off (the catalog's `webhook.deliver`).
 */
export async function deliverWebhook(
  deps: Pick<Deps, "db" | "master" | "now" | "webhooks">,
  p: { tenantId: string; deliveryId: string },
): Promise<{ status: "succeeded" | "skipped"; statusCode?: number }> {
  const found = await withTenant(deps.db, p.tenantId, async (tx) => {
    const [row] = await tx
      .select({ delivery: webhookDeliveries, endpoint: webhookEndpoints })
      .from(webhookDeliveries)
      .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
      .where(and(eq(webhookDeliveries.tenantId, p.tenantId), eq(webhookDeliveries.id, p.deliveryId)));
    return row;
  });
  if (found?.delivery.status !== "pending") return { status: "skipped" };
  const { delivery, endpoint } = found;
  const secret = decryptSecret(deps.master, endpoint.secretSealed, endpoint.id);
  const started = deps.now();
  const signature = signWebhook(secret, delivery.body, Math.floor(started.getTime() / 1000));
  let statusCode: number | null = null;
  let error: unknown = null;
  const t0 = performance.now();
  try {
    statusCode = await post(
      new URL(endpoint.url),
      delivery.body,
      {
        "content-type": "application/json",
        "user-agent": "Berth-Webhooks/1.0",
        [WEBHOOK_SIGNATURE_HEADER]: signature,
        "Berth-Event-Id": delivery.eventId,
        "Berth-Delivery-Id": delivery.id,
      },
      deps.webhooks,
    );
  } catch (e) {
    error = e;
  }
  const ok = statusCode !== null && statusCode >= 200 && statusCode < 300;
  const lastError = error ? failureMessage(error, 300) : ok ? null : `answered ${statusCode}`;
  await withTenant(deps.db, p.tenantId, (tx) =>
    tx
      .update(webhookDeliveries)
      .set({
        attempts: sql`${webhookDeliveries.attempts} + 1`,
        lastStatusCode: statusCode,
        lastError,
        lastDurationMs: Math.round(performance.now() - t0),
        lastAttemptAt: started,
        ...(ok ? { status: "succeeded" as const, completedAt: deps.now() } : {}),
      })
      .where(and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.status, "pending"))),
  );
  if (ok) return { status: "succeeded", statusCode: statusCode ?? 0 };
  if (error instanceof RefusedDelivery || (error as { cause?: unknown })?.cause instanceof RefusedDelivery)
    throw new RefusedDelivery(lastError ?? "refused");
  throw new Error(`webhook delivery ${delivery.id}: ${lastError}`);
}

/** The exhausted-retry hook: the delivery has failed for good, as its log then says. */
export async function failWebhookDelivery(
  deps: Pick<Deps, "db" | "now">,
  p: { tenantId: string; deliveryId: string },
): Promise<void> {
  await withTenant(deps.db, p.tenantId, (tx) =>
    tx
      .update(webhookDeliveries)
      .set({ status: "failed", completedAt: deps.now() })
      .where(and(eq(webhookDeliveries.id, p.deliveryId), eq(webhookDeliveries.status, "pending"))),
  );
}
