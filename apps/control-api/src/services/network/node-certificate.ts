import { UnauthenticatedError } from "@berth/core";
import { nodes, type Tx, withTenant } from "@berth/db";
import {
  NODE_CERT_LIFETIME_MS,
  type NodeCertificateReply,
  type NodeCertificateRequest,
  nodeCertificateReplySchema,
  nodeIdentityUri,
  type TunnelPeer,
} from "@berth/protocol";
import { and, eq, isNotNull, ne } from "drizzle-orm";
import type { Deps, NodeCaller } from "../../deps";
import { strictly } from "../replies";
import { clusterCaBundle, clusterTrust } from "./cluster-ca";
import { issueNodeCertificate, parseNodePublicKey } from "./tunnel-ca";

export const nodeCertificateReply = strictly(nodeCertificateReplySchema);

/**
 * `POST /v1/nodes/certificate`: a node's certificate for the cluster's tunnel. The node sends its
 * public key (its private key never leaves it) with its node credential; the identity in the
 * certificate is the credential's node and cluster, so a node can only ever be itself. The
 * tunnel's port is recorded, so the other nodes of the cluster learn where to reach it.
 */
export async function nodeCertificate(
  deps: Deps,
  caller: NodeCaller,
  input: NodeCertificateRequest,
): Promise<NodeCertificateReply> {
  const publicKeySpki = parseNodePublicKey(input.publicKey);
  const now = deps.now();
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    const [node] = await tx
      .select({ name: nodes.name, status: nodes.status })
      .from(nodes)
      .where(and(eq(nodes.id, caller.nodeId), eq(nodes.clusterId, caller.clusterId)))
      .for("update");
    if (!node || node.status === "left")
      throw new UnauthenticatedError("this node is not part of the cluster");
    const trust = await clusterTrust(tx, deps.master, caller, now);
    const identity = nodeIdentityUri(caller.clusterId, caller.nodeId);
    const cert = await issueNodeCertificate({
      ca: trust.issuer,
      publicKeySpki,
      identity,
      nodeName: node.name,
      now,
      lifetimeMs: NODE_CERT_LIFETIME_MS,
    });
    await tx.update(nodes).set({ tunnelPort: input.tunnelPort }).where(eq(nodes.id, caller.nodeId));
    const life = cert.notAfter.getTime() - now.getTime();
    return {
      certificate: cert.certificatePem,
      identity,
      expiresAt: cert.notAfter.toISOString(),
      renewAt: new Date(now.getTime() + Math.floor(life / 2)).toISOString(),
      caBundle: trust.bundle,
    };
  });
}

/**
 * The network view's tunnel fields: the cluster's CAs (made or rotated when due, so a new CA
 * reaches every node before it signs anything) and where each live node's tunnel listens.
 */
export async function tunnelView(
  tx: Tx,
  deps: Deps,
  caller: NodeCaller,
): Promise<{ tunnels: TunnelPeer[]; caBundle: string[] }> {
  const caBundle = await clusterCaBundle(tx, deps.master, caller, deps.now());
  const rows = await tx
    .select({ nodeId: nodes.id, nodeName: nodes.name, address: nodes.address, port: nodes.tunnelPort })
    .from(nodes)
    .where(and(eq(nodes.clusterId, caller.clusterId), ne(nodes.status, "left"), isNotNull(nodes.tunnelPort)))
    .orderBy(nodes.name);
  return { tunnels: rows.map((r) => ({ ...r, port: r.port ?? 0 })), caBundle };
}
