import {
  decryptSecret,
  importPrivateKey,
  type MasterKey,
  TOKEN_ALG,
  UnauthenticatedError,
} from "@berth/core";
import { clusters, type Db, nodes, systemStatement } from "@berth/db";
import { NODE_CREDENTIAL_TTL_SECONDS } from "@berth/protocol";
import { and, eq } from "drizzle-orm";
import { decodeJwt, importJWK, type JWK, jwtVerify, SignJWT } from "jose";
import type { Deps } from "../deps";

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

/** Imported public keys by their JWK text (a JWK never changes meaning): importing costs CPU on every call. */
const importedKeys = new Map<string, ReturnType<typeof importJWK>>();
const MAX_IMPORTED_KEYS = 10_000;

function publicKey(jwk: string): ReturnType<typeof importJWK> {
  let key = importedKeys.get(jwk);
  if (!key) {
    if (importedKeys.size >= MAX_IMPORTED_KEYS) importedKeys.clear();
    key = importJWK(JSON.parse(jwk) as JWK, TOKEN_ALG);
    importedKeys.set(jwk, key);
    key.catch(() => importedKeys.delete(jwk));
  }
  return key;
}

const invalid = () => new UnauthenticatedError("the node credential is invalid or expired");

/** The cluster and node a credential names, unverified: they only say which key and row to read. */
function namedIn(token: string): { clusterId: string; sub: string } {
  let unverified: { cid?: unknown; sub?: unknown };
  try {
    unverified = decodeJwt(token);
  } catch {
    throw invalid();
  }
  const { cid: clusterId, sub } = unverified;
  if (typeof clusterId !== "string" || clusterId.length > 64) throw invalid();
  if (typeof sub !== "string" || sub.length > 64) throw invalid();
  return { clusterId, sub };
}

/**
 * Verifies a node credential against the key of the cluster it names, and that its node is still
 * part of the cluster: a node that left (or was retired when another took its name) is refused,
 * whatever its credential says. The unverified `cid` and `sub` claims only pick which key to try and
 * which node row to read (one statement for both); the signature and the pinned audience decide. A
 * cluster whose key was destroyed (deleted) accepts nothing.
 */
async function readNodeCredential(db: Db, issuer: string, token: string): Promise<AdmittedNode> {
  const { clusterId, sub } = namedIn(token);
  const [cluster] = await systemStatement(db, (s) =>
    s
      .select({
        tenantId: clusters.tenantId,
        jwk: clusters.signingPublicJwk,
        previous: clusters.previousPublicJwk,
        retireAt: clusters.previousKeyRetireAt,
        nodeStatus: nodes.status,
      })
      .from(clusters)
      .leftJoin(nodes, and(eq(nodes.clusterId, clusters.id), eq(nodes.id, sub)))
      .where(eq(clusters.id, clusterId)),
  );
  if (!cluster?.jwk) throw invalid();
  // The current key, and after a rotation the previous one until its credentials have expired.
  const candidates = [{ jwk: cluster.jwk, until: Number.POSITIVE_INFINITY }];
  if (cluster.previous && cluster.retireAt && cluster.retireAt > new Date())
    candidates.push({ jwk: cluster.previous, until: cluster.retireAt.getTime() });
  for (const { jwk, until } of candidates) {
    let verified: VerifiedNode;
    try {
      const { payload, protectedHeader } = await jwtVerify(token, await publicKey(jwk), {
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
        throw invalid();
      verified = {
        tenantId: payload.tid,
        clusterId,
        nodeId: payload.sub,
        expiresAt: payload.exp * 1000,
        kid: protectedHeader.kid ?? "",
      };
    } catch {
      continue; // try the next key
    }
    if (verified.tenantId !== cluster.tenantId) throw invalid();
    if (!cluster.nodeStatus || cluster.nodeStatus === "left")
      throw new UnauthenticatedError("this node is no longer part of the cluster; join it again");
    return { node: verified, until: Math.min(verified.expiresAt, until) };
  }
  throw invalid();
}

/** A verified credential as cached: good until `until` (its expiry, or the retirement of the key that signed it). */
export interface AdmittedNode {
  node: VerifiedNode;
  until: number;
}

/**
 * Verifies a node credential, through the replica's cache: one verified before needs neither a
 * round trip nor a signature check again until it expires or its key retires, or until Postgres
 * says its cluster's keys changed or a node of the cluster left or went (migration 0034 notifies
 * `auth:<cluster id>`; every replica drops that cluster's entries). A node's requests (heartbeats
 * above all) are most of what the API answers at scale.
 */
export async function verifyNodeCredential(
  deps: Pick<Deps, "db" | "publicUrl" | "nodeCredentials">,
  token: string,
): Promise<VerifiedNode> {
  // Cached by its text, grouped by the cluster it was verified for: a hit decodes nothing.
  const admitted = await deps.nodeCredentials.get(
    (a) => a.node.clusterId,
    token,
    () => readNodeCredential(deps.db, deps.publicUrl, token),
  );
  if (admitted.until <= Date.now()) throw invalid();
  return admitted.node;
}
