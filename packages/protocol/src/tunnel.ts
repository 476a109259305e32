import { z } from "zod";

/**
 * The nodes' mutual-TLS tunnel: each node agent holds a key of its own (made on the node, never
 * sent anywhere) and a short-lived certificate for it, issued by its cluster's CA, naming the node
 * in a SPIFFE-style URI. Agents of one cluster trust every unexpired CA of that cluster (the CA
 * rotates; old and new overlap) and nothing else.
 */

/** A node certificate's lifetime; the agent renews it at half of that. */
export const NODE_CERT_LIFETIME_MS = 24 * 3600_000;
/** A cluster CA's lifetime; a new one is made when the newest has lived 2/3 of it. */
export const CLUSTER_CA_LIFETIME_MS = 365 * 24 * 3600_000;

/** `spiffe://berth/cluster/<clusterId>/node/<nodeId>`: the identity in a node certificate's SAN. */
export const nodeIdentityUri = (clusterId: string, nodeId: string): string =>
  `spiffe://berth/cluster/${clusterId}/node/${nodeId}`;

const IDENTITY = /^spiffe:\/\/berth\/cluster\/([a-z]+_[0-9a-z]+)\/node\/([a-z]+_[0-9a-z]+)$/;

/** The cluster and node a certificate's identity names, or null when it is not one of ours. */
export function parseNodeIdentityUri(uri: string): { clusterId: string; nodeId: string } | null {
  const m = IDENTITY.exec(uri);
  return m?.[1] && m[2] ? { clusterId: m[1], nodeId: m[2] } : null;
}

/**
 * `POST /v1/nodes/certificate`: the node's public key (SPKI, PEM, ECDSA P-256) for a certificate,
 * and the port its tunnel listens on at the node's address (reported with each request: the
 * tunnel cannot serve before it has a certificate).
 */
export const nodeCertificateRequestSchema = z
  .object({
    publicKey: z
      .string()
      .max(1024)
      .regex(
        /^-----BEGIN PUBLIC KEY-----[A-Za-z0-9+/=\s]+-----END PUBLIC KEY-----\s*$/,
        "must be a PEM public key",
      ),
    tunnelPort: z.number().int().min(1).max(65535),
  })
  .strict();
export type NodeCertificateRequest = z.infer<typeof nodeCertificateRequestSchema>;

export const nodeCertificateReplySchema = z.object({
  /** The node's certificate, PEM. */
  certificate: z.string(),
  /** The identity it carries (its SAN URI). */
  identity: z.string(),
  expiresAt: z.string(),
  /** When to ask for the next one (half its life). */
  renewAt: z.string(),
  /** Every unexpired CA of the cluster, newest first, PEM. */
  caBundle: z.array(z.string()),
});
export type NodeCertificateReply = z.infer<typeof nodeCertificateReplySchema>;

/** Where a node of the cluster takes tunnelled connections. */
export const tunnelPeerSchema = z.object({
  nodeId: z.string(),
  nodeName: z.string(),
  address: z.string(),
  port: z.number().int().min(1).max(65535),
});
export type TunnelPeer = z.infer<typeof tunnelPeerSchema>;

/** The network view's tunnel fields (absent from older control planes: no tunnel then). */
export const tunnelViewFields = {
  /** The cluster's nodes' tunnels (nodes that have not left and have reported one). */
  tunnels: z.array(tunnelPeerSchema).optional(),
  /** Every unexpired CA of the cluster, PEM: what a tunnel trusts. */
  caBundle: z.array(z.string()).optional(),
};

/**
 * A tunnelled connection is one HTTP/2 `CONNECT` stream (RFC 9113 §8.5) on a long-lived session
 * between two nodes; its `:authority` names the pod address and port the receiving node is to
 * connect it to (`10.89.0.5:8080`). The receiving node answers `:status` 200 once it has, then
 * pipes; anything else is a refusal.
 */
export const tunnelAuthority = (ip: string, port: number): string => `${ip}:${port}`;
const AUTHORITY = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}):(\d{1,5})$/;

/** The pod address and port a `CONNECT` stream's `:authority` names, or null when it is not one. */
export function parseTunnelAuthority(authority: string): { ip: string; port: number } | null {
  const m = AUTHORITY.exec(authority);
  if (!m?.[1] || !m[2]) return null;
  const port = Number(m[2]);
  if (port < 1 || port > 65535 || m[1].split(".").some((o) => Number(o) > 255)) return null;
  return { ip: m[1], port };
}
