import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { encryptSecret, newId, newWebhookSecret } from "@berth/core";
import { webhookDeliveries, webhookEndpoints, withSystem } from "@berth/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliverWebhook } from "../src/jobs/webhook-deliver";
import { createFixture, type Fixture, insertTenantAndCluster } from "./fixtures";

/** A receiver on 127.0.0.1 doing what `handle` says; it keeps what it got. */
async function receiver(handle: (req: IncomingMessage, body: string) => number | null) {
  const got: { headers: IncomingMessage["headers"]; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      const status = handle(req, body);
      if (status !== null) res.writeHead(status).end();
      // null: never answer (the delivery's timeout must end it)
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", () => ok()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

let f: Fixture;
let tenantId: string;
beforeAll(async () => {
  f = await createFixture();
  ({ tenantId } = await insertTenantAndCluster(f));
});
afterAll(() => f.close());

async function delivery(url: string, secret: string) {
  const endpointId = newId("webhook");
  const id = newId("webhookDelivery");
  await withSystem(f.deps.db, async (tx) => {
    await tx.insert(webhookEndpoints).values({
      id: endpointId,
      tenantId,
      url,
      events: ["budget.threshold"],
      secretSealed: encryptSecret(f.deps.master, secret, endpointId),
    });
    await tx.insert(webhookDeliveries).values({
      id,
      tenantId,
      endpointId,
      eventId: "bal_x",
      eventType: "budget.threshold",
      body: '{"id":"bal_x","type":"budget.threshold","created":1,"data":{}}',
    });
  });
  const row = async () =>
    (
      await withSystem(f.deps.db, (tx) =>
        tx.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id)),
      )
    )[0];
  return { id, row };
}

describe("a webhook delivery", () => {
  it("is signed over the stored body, and once answered 2xx is never sent again", async () => {
    const secret = newWebhookSecret();
    const r = await receiver(() => 204);
    try {
      const d = await delivery(r.url, secret);
      expect(await deliverWebhook(f.deps, { tenantId, deliveryId: d.id })).toEqual({
        status: "succeeded",
        statusCode: 204,
      });
      expect(await deliverWebhook(f.deps, { tenantId, deliveryId: d.id })).toEqual({ status: "skipped" });
      expect(r.got).toHaveLength(1);
      const [got] = r.got;
      const { t, v1 } = Object.fromEntries(
        String(got?.headers["berth-signature"])
          .split(",")
          .map((kv) => kv.split("=")),
      );
      expect(v1).toBe(createHmac("sha256", secret).update(`${t}.${got?.body}`).digest("hex"));
      expect(got?.headers["content-type"]).toBe("application/json");
      expect(await d.row()).toMatchObject({
        status: "succeeded",
        attempts: 1,
        lastStatusCode: 204,
        lastError: null,
      });
    } finally {
      await r.close();
    }
  });

  it("gives up an attempt at the timeout, logs it, and leaves the delivery to be retried", async () => {
    const r = await receiver(() => null);
    try {
      const d = await delivery(r.url, newWebhookSecret());
      const slow = { ...f.deps, webhooks: { allowLoopback: true, timeoutMs: 300 } };
      const started = Date.now();
      const err = await deliverWebhook(slow, { tenantId, deliveryId: d.id }).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(err).toBeInstanceOf(Error);
      expect((err as { retryable?: boolean }).retryable).not.toBe(false);
      expect(await d.row()).toMatchObject({ status: "pending", attempts: 1, lastStatusCode: null });
      expect((await d.row())?.lastError).toMatch(/timed out|abort/i);
    } finally {
      await r.close();
    }
  });
});
