import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { systemRows } from "@berth/db/testing";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { joinByApi } from "./agent-support";
import { type Platform, startPlatform } from "./harness";

/**
 * The nodes' tunnel certificates through the real control API: a node gets a certificate for its
 * own key under its cluster's CA (never another cluster's), a left node or a malformed key gets a
 * 4xx, and the CA rotates on an injected clock — the new CA reaches every node's bundle before it
 * signs, old certificates stay trusted while their CA lives.
 */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;
const DAY = 24 * 3600_000;
let offsetMs = 0;
let p: Platform;
const a = { token: "", clusterId: "" };
const b = { token: "", clusterId: "" };

beforeAll(async () => {
  p = await startPlatform({ api: { now: () => new Date(Date.now() + offsetMs) } });
  ({ token: a.token } = await p.api.tenant("tun-ca-a"));
  ({ token: b.token } = await p.api.tenant("tun-ca-b"));
  a.clusterId = await p.activeCluster(a.token, "a");
  b.clusterId = await p.activeCluster(b.token, "b");
}, 60_000);
afterAll(() => p?.close());

const join = (t: typeof a, name: string) => joinByApi(p, t, name);
const p256 = () =>
  generateKeyPairSync("ec", { namedCurve: "prime256v1" })
    .publicKey.export({ type: "spki", format: "pem" })
    .toString();
const certify = (credential: string, publicKey: string, tunnelPort = 7443) =>
  p.api.call("POST", "/v1/nodes/certificate", { token: credential, body: { publicKey, tunnelPort } });
const view = async (credential: string) => {
  const v = await p.api.call("GET", "/v1/nodes/network", { token: credential });
  expect(v.status, v.text).toBe(200);
  return v.body as J;
};
const signedBy = (cert: string, ca: string) =>
  new X509Certificate(cert).verify(new X509Certificate(ca).publicKey);

describe("node certificates for the tunnel", () => {
  it("issues a 24 h certificate for the node's key, naming the node, under its cluster's CA", async () => {
    const n = await join(a, "n1");
    const key = p256();
    const r = await certify(n.credential, key, 7443);
    expect(r.status, r.text).toBe(200);
    const cert = new X509Certificate(r.body.certificate);
    expect(cert.subjectAltName).toBe(`URI:spiffe://berth/cluster/${a.clusterId}/node/${n.id}`);
    expect(r.body.identity).toBe(`spiffe://berth/cluster/${a.clusterId}/node/${n.id}`);
    expect(cert.publicKey.export({ type: "spki", format: "pem" })).toBe(key);
    expect(r.body.caBundle).toHaveLength(1);
    expect(signedBy(r.body.certificate, r.body.caBundle[0])).toBe(true);
    const life = Date.parse(r.body.expiresAt) - Date.now();
    expect(life).toBeGreaterThan(DAY - 60_000);
    expect(life).toBeLessThanOrEqual(DAY);
    expect(Date.parse(r.body.renewAt) - Date.now()).toBeLessThan(DAY / 2 + 1000);
    // The view carries the same bundle, and where the node's tunnel listens.
    const v = await view(n.credential);
    expect(v.caBundle).toEqual(r.body.caBundle);
    expect(v.tunnels).toEqual([{ nodeId: n.id, nodeName: "n1", address: "127.0.0.1", port: 7443 }]);
    // The CA's private key is sealed at rest, never stored in the clear.
    const rows = await systemRows(
      p.api.deps.db,
      sql`select private_key_enc from cluster_cas where cluster_id = ${a.clusterId}`,
    );
    expect(rows).toHaveLength(1);
    expect(String(rows[0]?.private_key_enc)).toMatch(/^v1\./);
    expect(String(rows[0]?.private_key_enc)).not.toContain("PRIVATE KEY");
  });

  it("refuses a malformed key, an RSA key and an unknown field with a 400 naming the field", async () => {
    const n = await join(a, "n2");
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({
      type: "spki",
      format: "pem",
    });
    for (const key of [
      "not a key",
      "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
      rsa.toString(),
    ]) {
      const r = await certify(n.credential, key);
      expect(r.status, r.text).toBe(400);
      expect(r.body.error.code).toBe("VALIDATION_FAILED");
      expect(r.text).toContain("publicKey");
    }
    expect((await certify(n.credential, p256(), 0)).status).toBe(400);
  });

  it("a node of another cluster gets its own cluster's CA, and never appears in this cluster's view", async () => {
    const na = await join(a, "n3");
    const nb = await join(b, "m1");
    const ra = await certify(na.credential, p256());
    const rb = await certify(nb.credential, p256(), 7444);
    expect(rb.status, rb.text).toBe(200);
    expect(rb.body.identity).toContain(`/cluster/${b.clusterId}/`);
    expect(rb.body.caBundle).not.toEqual(ra.body.caBundle);
    expect(signedBy(rb.body.certificate, ra.body.caBundle[0])).toBe(false);
    expect(signedBy(rb.body.certificate, rb.body.caBundle[0])).toBe(true);
    const names = ((await view(na.credential)).tunnels as J[]).map((t) => t.nodeName);
    expect(names).not.toContain("m1");
    expect(names).toEqual(expect.arrayContaining(["n1", "n3"]));
  });

  it("refuses a node that has left (401), and drops it from the view", async () => {
    const n = await join(a, "n4");
    expect((await certify(n.credential, p256())).status).toBe(200);
    const left = await p.api.call("POST", "/v1/nodes/sync", {
      token: n.credential,
      body: { pods: [], left: true },
    });
    expect(left.status, left.text).toBe(200);
    const r = await certify(n.credential, p256());
    expect(r.status, r.text).toBe(401);
    const other = await join(a, "n5");
    expect(((await view(other.credential)).tunnels as J[]).map((t) => t.nodeName)).not.toContain("n4");
  });

  it("rotates the CA at 2/3 of its life: published first, then signing; old certificates trusted until their CA expires", async () => {
    const n = await join(a, "n6");
    const before = await certify(n.credential, p256());
    const [oldCa] = before.body.caBundle as string[];
    // 245 days on (past 2/3 of a year): a new CA, in every node's bundle, not signing yet.
    offsetMs = 245 * DAY;
    const v = await view(n.credential);
    expect(v.caBundle).toHaveLength(2);
    const [newCa] = v.caBundle as string[];
    expect(v.caBundle[1]).toBe(oldCa);
    const soon = await certify(n.credential, p256());
    expect(signedBy(soon.body.certificate, oldCa as string)).toBe(true);
    // An hour later the new CA signs; a certificate of the old one still chains to a trusted CA.
    offsetMs = 245 * DAY + 2 * 3600_000;
    const later = await certify(n.credential, p256());
    expect(later.body.caBundle).toEqual([newCa, oldCa]);
    expect(signedBy(later.body.certificate, newCa as string)).toBe(true);
    expect(signedBy(later.body.certificate, oldCa as string)).toBe(false);
    expect(signedBy(soon.body.certificate, later.body.caBundle[1])).toBe(true);
    // Once the old CA has expired it leaves the bundle; only one new CA was made.
    offsetMs = 366 * DAY;
    expect((await view(n.credential)).caBundle).toEqual([newCa]);
    const rows = await systemRows(
      p.api.deps.db,
      sql`select id from cluster_cas where cluster_id = ${a.clusterId}`,
    );
    expect(rows).toHaveLength(2);
    offsetMs = 0;
  });
});
