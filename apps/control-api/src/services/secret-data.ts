/** Secrets' envelope encryption lives in @berth/db: the gateway opens TLS Secrets with it too. */
export { clusterDataKey, openSecretData, sealSecretData } from "@berth/db";
