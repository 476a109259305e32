import { defineOperation as op } from "../operation";
import { issueRegistryToken, registryTokenInput, registryTokenReply } from "../services/registry-token";

/** Every operation of the API. Add one here and it exists over REST, tRPC and in the OpenAPI document. */

/** The image registry's token service (the registry's `auth.token.realm`). */
export const registryOperations = {
  registryToken: op({
    id: "registry.token",
    summary:
      "Docker token protocol: a short-lived registry token for the scopes the credentials (Basic auth) may have",
    method: "GET",
    path: "/v1/registry/token",
    // Public like the sign-in (rate-limited per address): the credentials are Basic auth, read by the service.
    auth: "public",
    action: "registry:GetToken",
    resource: () => "*",
    successStatus: 200,
    input: registryTokenInput,
    output: registryTokenReply,
    run: (deps, _caller, input, meta) => issueRegistryToken(deps, input, meta),
  }),
};
