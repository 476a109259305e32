import type { ImageReference } from "@berth/core";
import {
  createRegistryClient,
  RegistryError,
  type RegistrySigningKey,
  signRegistryToken,
} from "@berth/registry";

/**
 * Resolves tags of Berth's registry to digests for the deployment controller. The provisioner holds
 * the registry's token signing key, so it signs itself a short pull token for each repository it
 * reads (subject `provisioner`) instead of asking the token service: no credential travels.
 */
export interface ImageResolver {
  /** The registry's host as image names give it (`127.0.0.1:55000`). */
  readonly host: string;
  /** `<host>/<repository>:<tag>` → `<host>/<repository>@sha256:…`; throws a RegistryError when it cannot. */
  resolve(ref: ImageReference): Promise<string>;
}

export interface ImageResolverOptions {
  host: string;
  /** Where the provisioner reaches it (`http://127.0.0.1:55000`). */
  url: string;
  key: RegistrySigningKey;
  issuer: string;
  service: string;
  /** Each request's limit: a registry that does not answer must not hold the control loop long. */
  timeoutMs: number;
  fetch?: typeof fetch;
}

const TOKEN_TTL_SECONDS = 60;

export function createImageResolver(opts: ImageResolverOptions): ImageResolver {
  const client = createRegistryClient({
    timeoutMs: opts.timeoutMs,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    bearer: (scope) => {
      // Only ever `repository:<name>:pull`, as the client asks; the token grants exactly that.
      const name = scope.slice(scope.indexOf(":") + 1, scope.lastIndexOf(":"));
      const signed = signRegistryToken(opts.key, {
        issuer: opts.issuer,
        service: opts.service,
        subject: "provisioner",
        access: [{ type: "repository", name, actions: ["pull"] }],
        ttlSeconds: TOKEN_TTL_SECONDS,
      });
      return { token: signed.token, expiresIn: signed.expiresIn };
    },
  });
  return {
    host: opts.host,
    async resolve(ref) {
      if (ref.domain !== opts.host)
        throw new RegistryError(`${ref.normalised} is not an image of ${opts.host}`, 400, undefined);
      const { digest } = await client.resolve(
        { registry: opts.url, repository: ref.path },
        ref.digest ?? ref.tag ?? "latest",
      );
      return `${ref.repository}@${digest}`;
    },
  };
}
