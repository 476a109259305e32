import { createHash } from "node:crypto";
import { parseChallenge } from "./challenge";
import { formatScope } from "./names";

/**
 * A small client of the OCI distribution API: resolves a tag to the digest of what it names (an
 * image index, a manifest list or a manifest), and fetches manifests and blobs, answering the
 * registry's `WWW-Authenticate: Bearer realm=…` challenge with the Docker token protocol
 * (credentials sent to the realm as Basic auth; tokens kept per scope until they expire).
 */

/** What a puller accepts, most specific last: an OCI index, a Docker list, then single manifests. */
export const MANIFEST_MEDIA_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
] as const;

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface RegistryClientOptions {
  /** Sent to the token realm (Basic); none: the registry's anonymous access, if any. */
  credentials?: RegistryCredentials | (() => RegistryCredentials | Promise<RegistryCredentials>);
  fetch?: typeof fetch;
  /**
   * Origins of token services the credentials may be sent to (`http://api:8080`): a registry names
   * its realm itself, so a node's credential must not follow any realm it is told. Default: any.
   */
  trustedRealmOrigins?: readonly string[];
  /**
   * Tokens the caller makes itself for a scope (the platform, which holds the signing key): used
   * instead of asking the realm a challenge names, so no credential is sent anywhere.
   */
  bearer?: (
    scope: string,
  ) => { token: string; expiresIn: number } | Promise<{ token: string; expiresIn: number }>;
  /** Each request's limit (default 30 s). */
  timeoutMs?: number;
  now?: () => number;
}

/** A repository of a registry: `registry` is its base URL with the scheme (`http://127.0.0.1:55000`). */
export interface RepositoryRef {
  registry: string;
  repository: string;
}

export interface ResolvedManifest {
  digest: string;
  mediaType: string;
  size: number;
}

/** The registry refused or failed; `code` is the first of its `errors[].code` (e.g. DENIED, UNAUTHORIZED). */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = "RegistryError";
  }
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export interface RegistryClient {
  /** The digest `reference` (a tag or a digest) names now, with its media type and size. */
  resolve(ref: RepositoryRef, reference: string): Promise<ResolvedManifest>;
  /** The manifest's bytes, checked against the digest the registry states (and `reference`, if a digest). */
  manifest(ref: RepositoryRef, reference: string): Promise<ResolvedManifest & { body: Buffer }>;
  /** A blob (layer, config), streamed; the caller checks its digest as it reads. */
  blob(ref: RepositoryRef, digest: string): Promise<Response>;
}

export function createRegistryClient(opts: RegistryClientOptions = {}): RegistryClient {
  const doFetch = opts.fetch ?? fetch;
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  /** Pull tokens per registry and repository. */
  const tokens = new Map<string, { token: string; expiresAt: number }>();

  async function credentials(): Promise<RegistryCredentials | undefined> {
    return typeof opts.credentials === "function" ? await opts.credentials() : opts.credentials;
  }

  const basic = (c: RegistryCredentials) =>
    `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;

  /** A token for `scope` from the realm of a Bearer challenge, with when to stop using it. */
  async function tokenFor(realm: string, service: string | undefined, scope: string) {
    if (opts.bearer) {
      const own = await opts.bearer(scope);
      return { token: own.token, expiresAt: now() + Math.max(0, own.expiresIn - 10) * 1000 };
    }
    const url = new URL(realm);
    if (opts.trustedRealmOrigins && !opts.trustedRealmOrigins.includes(url.origin))
      throw new RegistryError(
        `the registry sends credentials to ${url.origin}, which is not a trusted token service`,
        401,
        "UNTRUSTED_REALM",
      );
    if (service) url.searchParams.set("service", service);
    url.searchParams.set("scope", scope);
    const creds = await credentials();
    const res = await doFetch(url, {
      headers: creds ? { authorization: basic(creds) } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) {
      const text = await res.text().catch(() => "");
      throw new RegistryError(
        `the token service ${url.origin}${url.pathname} answered ${res.status}: ${text.slice(0, 300)}`,
        res.status,
        codeOf(text),
      );
    }
    const body = (await res.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError("the token service answered without a token", res.status, undefined);
    // Renewed 10 s early; the protocol's default lifetime is 60 s.
    return { token, expiresAt: now() + Math.max(0, (body.expires_in ?? 60) - 10) * 1000 };
  }

  /** One request; a Bearer challenge is answered once with a token for pulling the repository. */
  async function request(ref: RepositoryRef, path: string, init: RequestInit): Promise<Response> {
    const url = `${ref.registry.replace(/\/+$/, "")}/v2/${ref.repository}/${path}`;
    const send = (authorization?: string) =>
      doFetch(url, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), ...(authorization ? { authorization } : {}) },
        signal: AbortSignal.timeout(timeoutMs),
      });
    const key = `${ref.registry}|${ref.repository}`;
    const known = tokens.get(key);
    let res = await send(known && known.expiresAt > now() ? `Bearer ${known.token}` : undefined);
    if (res.status !== 401) return res;
    const challenge = parseChallenge(res.headers.get("www-authenticate"));
    await res.body?.cancel();
    if (challenge?.scheme === "bearer" && challenge.params.realm) {
      const scope = formatScope({ type: "repository", name: ref.repository, actions: ["pull"] });
      const fresh = await tokenFor(challenge.params.realm, challenge.params.service, scope);
      tokens.set(key, fresh);
      res = await send(`Bearer ${fresh.token}`);
    } else if (challenge?.scheme === "basic") {
      const creds = await credentials();
      if (creds) res = await send(basic(creds));
    }
    return res;
  }

  async function refuse(res: Response, what: string): Promise<never> {
    const text = await res.text().catch(() => "");
    throw new RegistryError(
      `${what}: the registry answered ${res.status} ${text.slice(0, 300)}`.trim(),
      res.status,
      codeOf(text),
    );
  }

  const accept = { accept: MANIFEST_MEDIA_TYPES.join(", ") };

  async function manifest(ref: RepositoryRef, reference: string) {
    const res = await request(ref, `manifests/${reference}`, { method: "GET", headers: accept });
    if (!res.ok) return refuse(res, `${ref.repository}:${reference}`);
    const body = Buffer.from(await res.arrayBuffer());
    const digest = `sha256:${createHash("sha256").update(body).digest("hex")}`;
    const stated = res.headers.get("docker-content-digest");
    if ((stated && stated !== digest) || (DIGEST.test(reference) && reference !== digest))
      throw new RegistryError(
        `${ref.repository}:${reference}: the manifest's bytes do not match its digest`,
        502,
        undefined,
      );
    const mediaType = res.headers.get("content-type")?.split(";")[0]?.trim() ?? "";
    return { digest, mediaType, size: body.length, body };
  }

  return {
    manifest,
    async resolve(ref, reference) {
      const res = await request(ref, `manifests/${reference}`, { method: "HEAD", headers: accept });
      const digest = res.headers.get("docker-content-digest");
      if (res.ok && digest && DIGEST.test(digest)) {
        return {
          digest,
          mediaType: res.headers.get("content-type")?.split(";")[0]?.trim() ?? "",
          size: Number(res.headers.get("content-length") ?? 0),
        };
      }
      // HEAD has no body to explain a refusal, and some registries omit the digest: GET says it all.
      const { body: _body, ...resolved } = await manifest(ref, reference);
      return resolved;
    },
    async blob(ref, digest) {
      const res = await request(ref, `blobs/${digest}`, { method: "GET" });
      if (!res.ok) return refuse(res, `${ref.repository}@${digest}`);
      return res;
    },
  };
}

function codeOf(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: string }[]; error?: { code?: string } };
    return parsed.errors?.[0]?.code ?? parsed.error?.code;
  } catch {
    return undefined;
  }
}
