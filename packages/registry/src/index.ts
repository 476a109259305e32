export { type Challenge, parseChallenge } from "./challenge";
export {
  createRegistryClient,
  MANIFEST_MEDIA_TYPES,
  type RegistryClient,
  type RegistryClientOptions,
  type RegistryCredentials,
  RegistryError,
  type RepositoryRef,
  type ResolvedManifest,
} from "./client";
export {
  formatScope,
  PUBLIC_NAMESPACE,
  parseScope,
  REPOSITORY_NAME,
  type RegistryAction,
  type ResourceAccess,
  type Scope,
  splitRepository,
  tenantNamespace,
} from "./names";
export { type PushLayoutOptions, pushOciLayout } from "./push";
export {
  libtrustKeyId,
  loadRegistrySigningKey,
  type RegistrySigningKey,
  type RegistryToken,
  type RegistryTokenRequest,
  signRegistryToken,
} from "./token";
