import { encryptSecret, type GeneratedSigningKey, type MasterKey } from "@berth/core";

/** The cluster row's columns for a signing key: the private half envelope-encrypted, bound to the cluster. */
export function clusterKeyColumns(master: MasterKey, clusterId: string, key: GeneratedSigningKey) {
  return {
    signingKeyEnc: encryptSecret(master, key.privatePkcs8, `cluster-key:${clusterId}`),
    signingPublicJwk: JSON.stringify(key.publicJwk),
    signingKid: key.kid,
  };
}
