import {
  decryptSecret,
  importPrivateKey,
  type MasterKey,
  TOKEN_ALG,
  UnauthenticatedError,
} from "@berth/core";
import { clusters, type Db, nodes, withSystem, withTenant } from "@berth/db";
import { NODE_CREDENTIAL_TTL_SECONDS } from "@berth/protocol";
import { and, eq } from "drizzle-orm";
import { decodeJwt, importJWK, type JWK, jwtVerify, SignJWT } from "jose";

/** Node credentials are JWTs signed with their cluster's own key, for that cluster's audience only. */
export const clusterAudience = (clusterId: string): string => `berth:cluster:${clusterId}`;

export interface NodeClaims {
  tenantId: string;
  clusterId: string;
  nodeId: string;
}

export interface VerifiedNode extends NodeClaims {
  /** When the credential expires, in epoch milliseconds. */
  expiresAt: number;
  /** The cluster key that signed it: after a rotation, agents still holding the old one get a new credential. */
  kid: string;
}

export interface ClusterKeyRow {
  id: string;
  signingKeyEnc: string | null;
  signingKid: string | null;
}

export async function issueNodeCredential(
  master: MasterKey,
  issuer: string,
  cluster: ClusterKeyRow,
  claims: NodeClaims,
  now: Date,
): Promise<{ credential: string; expiresAt: Date }> {
  if (!cluster.signingKeyEnc || !cluster.signingKid)
    throw new UnauthenticatedError("the cluster has no signing key");
  const key = await importPrivateKey(
    decryptSecret(master, cluster.signingKeyEnc, `cluster-key:${cluster.id}`),
  );
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + NODE_CREDENTIAL_TTL_SECONDS;
  const credential = await new SignJWT({ tid: claims.tenantId, cid: claims.clusterId })
    .setProtectedHeader({ alg: TOKEN_ALG, kid: cluster.signingKid, typ: "node+jwt" })
    .setIssuer(issuer)
    .setAudience(clusterAudience(claims.clusterId))
    .setSubject(claims.nodeId)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(exp)
    .sign(key);
  return { credential, expiresAt: new Date(exp * 1000) };
}

/**
 * Verifies a node credential against the key of the cluster it names. The unverified `cid` claim only
 * picks which key to try; the signature and the pinned audience decide. A cluster whose key was
 * destroyed (deleted) accepts nothing.
 */
export async function verifyNodeCredential(db: Db, issuer: string, token: string): Promise<VerifiedNode> {
  const fail = () => new UnauthenticatedError("the node credential is invalid or expired");
  let clusterId: unknown;
  try {
    clusterId = decodeJwt(token).cid;
  } catch {
    throw fail();
  }
  if (typeof clusterId !== "string" || clusterId.length > 64) throw fail();
  const [cluster] = await withSystem(db, (tx) =>
    tx
      .select({
        jwk: clusters.signingPublicJwk,
        previous: clusters.previousPublicJwk,
        retireAt: clusters.previousKeyRetireAt,
      })
      .from(clusters)
      .where(eq(clusters.id, clusterId)),
  );
  if (!cluster?.jwk) throw fail();
  // The current key, and after a rotation the previous one until its credentials have expired.
  const candidates = [cluster.jwk];
  if (cluster.previous && cluster.retireAt && cluster.retireAt > new Date())
    candidates.push(cluster.previous);
  for (const jwk of candidates) {
    try {
      const key = await importJWK(JSON.parse(jwk) as JWK, TOKEN_ALG);
      const { payload, protectedHeader } = await jwtVerify(token, key, {
        algorithms: [TOKEN_ALG],
        issuer,
        audience: clusterAudience(clusterId),
        typ: "node+jwt",
        requiredClaims: ["exp", "sub", "tid", "cid"],
      });
      if (
        typeof payload.sub !== "string" ||
        typeof payload.tid !== "string" ||
        typeof payload.exp !== "number"
      )
        throw fail();
      return {
        tenantId: payload.tid,
        clusterId,
        nodeId: payload.sub,
        expiresAt: payload.exp * 1000,
        kid: protectedHeader.kid ?? "",
      };
    } catch {
      // try the next key
    }
  }
  throw fail();
}

/**
 * A valid signature is not enough: the node must still be part of its cluster. A node that left
 * (or was retired when another took its name) is refused, whatever its credential says.
 */
export async function assertNodeMember(db: Db, node: NodeClaims): Promise<void> {
  const [row] = await withTenant(db, node.tenantId, (tx) =>
    tx
      .select({ status: nodes.status })
      .from(nodes)
      .where(and(eq(nodes.id, node.nodeId), eq(nodes.clusterId, node.clusterId))),
  );
  if (!row || row.status === "left")
    throw new UnauthenticatedError("this node is no longer part of the cluster; join it again");
}
