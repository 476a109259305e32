import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { newId } from "@berth/core";
import { clusters, type Db, ingestUsageEvents, monthOf, rollupAll, withSystem } from "@berth/db";

/** What a webhook receiver got: the parsed body, its headers, and whether the signature held. */
export interface Received {
  body: { id: string; type: string; created: number; data: Record<string, unknown> };
  headers: IncomingHttpHeaders;
  signatureValid: boolean;
  answered: number;
}

/**
 * Checks `Berth-Signature: t=<unix>,v1=<hex>` as a tenant's receiver would, written here from the
 * README's description with node:crypto rather than with Berth's own signing code.
 */
export function verifySignature(
  header: string | undefined,
  rawBody: string,
  secret: string,
  toleranceS = 300,
) {
  const parts = Object.fromEntries(
    (header ?? "").split(",").map((kv) => kv.split("=", 2) as [string, string]),
  );
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceS || !parts.v1) return false;
  const expected = createHmac("sha256", secret).update(`${t}.${rawBody}`).digest();
  const given = Buffer.from(parts.v1, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * A real HTTP server on 127.0.0.1 that answers each request with the next status of `answers`
 * (the last one repeated) and keeps what it got. Its secret is set once the endpoint is created.
 */
export async function startReceiver(answers: number[] = [200]) {
  const received: Received[] = [];
  let secret = "";
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const answered = answers[Math.min(received.length, answers.length - 1)] ?? 200;
      received.push({
        body: JSON.parse(raw),
        headers: req.headers,
        signatureValid: verifySignature(req.headers["berth-signature"] as string | undefined, raw, secret),
        answered,
      });
      res.writeHead(answered, { "content-type": "text/plain" }).end(answered < 300 ? "ok" : "nope");
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", () => ok()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    setSecret: (s: string) => {
      secret = s;
    },
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

/** A cluster row of the tenant (billing needs no running control plane). */
export async function seedCluster(db: Db, tenantId: string, name: string): Promise<string> {
  const id = newId("cluster");
  await withSystem(db, (tx) => tx.insert(clusters).values({ id, tenantId, name }));
  return id;
}

/**
 * `nodeHours` node-hours of usage on a cluster in the first hour of the running month, labelled,
 * ingested and rolled up as the metering jobs would.
 */
export async function seedUsage(
  db: Db,
  u: { tenantId: string; clusterId: string; nodeHours: number; labels?: Record<string, string> },
): Promise<void> {
  const now = new Date();
  await ingestUsageEvents(
    db,
    [
      {
        id: `ue_${newId("meter").slice(4)}`,
        tenantId: u.tenantId,
        clusterId: u.clusterId,
        namespace: "default",
        meter: "node_hours",
        subjectId: newId("node"),
        hour: monthOf(now).start,
        raw: BigInt(u.nodeHours) * 3_600_000n,
        labels: u.labels ?? {},
      },
    ],
    now,
  );
  await rollupAll(db);
}

/** Micro-units of an amount string ("1.234567" → 1234567n). */
export const micro = (s: string): bigint => BigInt(s.replace(".", ""));
/** An amount string of micro-units. */
export const amountOf = (m: bigint): string =>
  `${m / 1_000_000n}.${(m % 1_000_000n).toString().padStart(6, "0")}`;

/** The forecast rule of the README: month-to-date × month length ÷ closed hours elapsed. */
export function expectedForecast(actualMicro: bigint, now = new Date()): bigint {
  const { start, end } = monthOf(now);
  const elapsed = BigInt(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - start.getTime());
  if (elapsed <= 0n) return actualMicro;
  const n = actualMicro * BigInt(end.getTime() - start.getTime());
  return (n * 2n + elapsed) / (2n * elapsed);
}

/** The thresholds a spend reaches of an amount. */
export const reached = (spend: bigint, amount: bigint, thresholds: number[]) =>
  thresholds.filter((t) => spend * 100n >= amount * BigInt(t));
