import { generateKeyPairSync, X509Certificate } from "node:crypto";
import type { AddressInfo } from "node:net";
import { connect, createServer } from "node:tls";
import { nodeIdentityUri, parseNodeIdentityUri } from "@berth/protocol";
import { describe, expect, it } from "vitest";
import { createClusterCa, issueNodeCertificate, parseNodePublicKey } from "../src/services/network/tunnel-ca";

/** The tunnel CA's crypto, for real: chains verified by Node's X509Certificate and by TLS 1.3 handshakes. */
const DAY = 24 * 3600_000;
const nodeKey = () => {
  const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return {
    publicPem: pair.publicKey.export({ type: "spki", format: "pem" }).toString(),
    privatePem: pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
};
async function nodeCert(
  ca: { certificatePem: string; privateKeyPem: string },
  cluster: string,
  node: string,
) {
  const key = nodeKey();
  const { certificatePem } = await issueNodeCertificate({
    ca,
    publicKeySpki: parseNodePublicKey(key.publicPem),
    identity: nodeIdentityUri(cluster, node),
    nodeName: node,
    now: new Date(),
    lifetimeMs: DAY,
  });
  return { cert: certificatePem, key: key.privatePem };
}

/** A TLS 1.3 handshake between a server and a client that each trust `trust`; resolves with the outcome. */
async function handshake(
  server: { cert: string; key: string; trust: string[] },
  client: { cert?: string; key?: string; trust: string[] },
): Promise<"ok" | "refused"> {
  const srv = createServer({
    cert: server.cert,
    key: server.key,
    ca: server.trust,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.3",
  });
  srv.on("secureConnection", (s) => s.end("hi"));
  srv.on("tlsClientError", () => {});
  await new Promise<void>((ok) => srv.listen(0, "127.0.0.1", ok));
  const port = (srv.address() as AddressInfo).port;
  try {
    return await new Promise((ok) => {
      const s = connect({
        host: "127.0.0.1",
        port,
        ca: client.trust,
        ...(client.cert ? { cert: client.cert, key: client.key } : {}),
        checkServerIdentity: () => undefined,
        minVersion: "TLSv1.3",
      });
      s.on("data", (d) => ok(d.toString() === "hi" ? "ok" : "refused"));
      s.on("error", () => ok("refused"));
      s.on("close", () => ok("refused"));
    });
  } finally {
    srv.close();
  }
}

describe("cluster tunnel CA", () => {
  it("issues a node certificate that chains to its CA and names the node", async () => {
    const ca = await createClusterCa("cl_a", new Date(), 365 * DAY);
    const caCert = new X509Certificate(ca.certificatePem);
    expect(caCert.ca).toBe(true);
    expect(caCert.verify(caCert.publicKey)).toBe(true);
    const { cert } = await nodeCert(ca, "cl_a", "node_1");
    const x = new X509Certificate(cert);
    expect(x.verify(caCert.publicKey)).toBe(true);
    expect(x.checkIssued(caCert)).toBe(true);
    expect(x.ca).toBe(false);
    expect(x.subjectAltName).toBe("URI:spiffe://berth/cluster/cl_a/node/node_1");
    expect(x.keyUsage).toEqual(expect.arrayContaining(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]));
    expect(Date.parse(x.validTo) - Date.now()).toBeLessThanOrEqual(DAY);
    expect(parseNodeIdentityUri("spiffe://berth/cluster/cl_a/node/node_1")).toEqual({
      clusterId: "cl_a",
      nodeId: "node_1",
    });
    expect(parseNodeIdentityUri("spiffe://berth/cluster/cl_a/node/node_1/x")).toBeNull();
  });

  it("never signs past its own end", async () => {
    const ca = await createClusterCa("cl_a", new Date(), 3600_000);
    const key = nodeKey();
    const { notAfter } = await issueNodeCertificate({
      ca,
      publicKeySpki: parseNodePublicKey(key.publicPem),
      identity: nodeIdentityUri("cl_a", "node_1"),
      nodeName: "n",
      now: new Date(),
      lifetimeMs: DAY,
    });
    expect(notAfter.getTime()).toBe(ca.notAfter.getTime());
  });

  it("refuses a malformed key, an RSA key and a P-384 key naming publicKey", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({
      type: "spki",
      format: "pem",
    });
    const p384 = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).publicKey.export({
      type: "spki",
      format: "pem",
    });
    for (const pem of ["-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", rsa, p384])
      expect(() => parseNodePublicKey(pem.toString())).toThrow(/publicKey/);
  });

  it("a certificate of another cluster's CA does not verify under this one's", async () => {
    const a = await createClusterCa("cl_a", new Date(), 365 * DAY);
    const b = await createClusterCa("cl_b", new Date(), 365 * DAY);
    const { cert } = await nodeCert(b, "cl_b", "node_9");
    expect(new X509Certificate(cert).verify(new X509Certificate(a.certificatePem).publicKey)).toBe(false);
  });

  it("TLS: mutual authentication under the bundle; old and new CA both trusted during the overlap", async () => {
    const old = await createClusterCa("cl_a", new Date(), 365 * DAY);
    const next = await createClusterCa("cl_a", new Date(), 365 * DAY);
    const other = await createClusterCa("cl_b", new Date(), 365 * DAY);
    const bundle = [next.certificatePem, old.certificatePem];
    const server = { ...(await nodeCert(next, "cl_a", "node_1")), trust: bundle };
    // A node still holding a certificate of the old CA, and one of the new.
    expect(await handshake(server, { ...(await nodeCert(old, "cl_a", "node_2")), trust: bundle })).toBe("ok");
    expect(await handshake(server, { ...(await nodeCert(next, "cl_a", "node_3")), trust: bundle })).toBe(
      "ok",
    );
    // Once the old CA has left the bundle, its certificates are refused.
    expect(
      await handshake(
        { ...server, trust: [next.certificatePem] },
        { ...(await nodeCert(old, "cl_a", "node_2")), trust: bundle },
      ),
    ).toBe("refused");
    // No certificate, or one of another cluster's CA: refused.
    expect(await handshake(server, { trust: bundle })).toBe("refused");
    expect(await handshake(server, { ...(await nodeCert(other, "cl_b", "node_9")), trust: bundle })).toBe(
      "refused",
    );
  });
});
