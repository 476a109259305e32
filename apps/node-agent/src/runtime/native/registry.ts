/**
 * A client of an OCI/Docker distribution registry, as far as pulling needs: image references,
 * manifests (OCI and Docker v2, indexes and lists picked by platform) and blobs, with the Bearer
 * token dance a `WWW-Authenticate` challenge asks for (the distribution token spec).
 */
import { createHash } from "node:crypto";

export interface ImageRef {
  /** Host and port, e.g. `127.0.0.1:5000`. */
  registry: string;
  /** Repository path, e.g. `berth/demo`. */
  repo: string;
  tag: string | null;
  digest: string | null;
}

/** Parses `[registry/]repo[:tag][@digest]`; a first part with a dot, a colon or `localhost` is the registry. */
export function parseImageRef(image: string): ImageRef {
  let rest = image.trim();
  let digest: string | null = null;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | null = null;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf("/");
  const first = slash >= 0 ? rest.slice(0, slash) : "";
  let registry = "docker.io";
  let repo = rest;
  if (slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    registry = first;
    repo = rest.slice(slash + 1);
  } else if (slash < 0) {
    repo = `library/${rest}`;
  }
  if (!digest && !tag) tag = "latest";
  return { registry, repo, tag, digest };
}

/** The canonical key of a reference: `registry/repo:tag` or `registry/repo@digest`. */
export function refKey(ref: ImageRef): string {
  return ref.digest ? `${ref.registry}/${ref.repo}@${ref.digest}` : `${ref.registry}/${ref.repo}:${ref.tag}`;
}

export const MEDIA = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

export interface Manifest {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface RegistryClientOptions {
  /** Registries reached over plain HTTP; loopback ones always are. */
  insecureRegistries?: readonly string[];
  /** Credentials for a registry's token service (Basic), when it asks for them (none: null or undefined). */
  credentials?: (
    registry: string,
  ) => RegistryCredentials | null | undefined | Promise<RegistryCredentials | null | undefined>;
  /** Deadline of each request but blob bodies. Default 15 s. */
  timeoutMs?: number;
  /**
   * Where a host named in an image or a token realm is really reached (`127.0.0.1` → `10.0.2.2` in
   * a VM, whose own loopback is not the host's). Keys and values are hosts, or `host:port`.
   */
  hostAliases?: Readonly<Record<string, string>>;
  /**
   * Images pulled from somewhere else than their name says, by prefix (containerd's rewrite): the
   * node's own `localhost/berth/pause` from the platform's registry, say. The name stays as given.
   */
  rewrites?: readonly { from: string; to: string }[];
}

/** `host[:port]` with the alias of its host, or of the whole `host:port`, when one is given. */
export function aliasOf(hostPort: string, aliases: Readonly<Record<string, string>> = {}): string {
  const whole = aliases[hostPort];
  if (whole) return whole;
  const colon = hostPort.lastIndexOf(":");
  const host = colon > 0 ? hostPort.slice(0, colon) : hostPort;
  const alias = aliases[host];
  return alias ? `${alias}${colon > 0 ? hostPort.slice(colon) : ""}` : hostPort;
}

/** Where an image is pulled from: its name with the first matching rewrite applied. */
export function pullSource(image: string, rewrites: readonly { from: string; to: string }[] = []): string {
  const rule = rewrites.find((r) => image.startsWith(r.from));
  return rule ? `${rule.to}${image.slice(rule.from.length)}` : image;
}

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly notFound: boolean,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

export function sha256(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

export class RegistryClient {
  private readonly tokens = new Map<string, string>();

  constructor(private readonly opts: RegistryClientOptions = {}) {}

  private base(ref: ImageRef): string {
    const plain = LOOPBACK.test(ref.registry) || (this.opts.insecureRegistries ?? []).includes(ref.registry);
    return `${plain ? "http" : "https"}://${aliasOf(ref.registry, this.opts.hostAliases)}/v2/${ref.repo}`;
  }

  /** GET with the registry's token when it has challenged before, and the dance when it challenges now. */
  async get(ref: ImageRef, path: string, accept?: string, timeoutMs?: number): Promise<Response> {
    const url = `${this.base(ref)}${path}`;
    const key = `${ref.registry}/${ref.repo}`;
    const send = async () => {
      const headers: Record<string, string> = {};
      if (accept) headers.accept = accept;
      const token = this.tokens.get(key);
      if (token) headers.authorization = `Bearer ${token}`;
      try {
        return await fetch(url, {
          headers,
          signal: AbortSignal.timeout(timeoutMs ?? this.opts.timeoutMs ?? 15_000),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? "";
        throw new RegistryError(`GET ${url}: ${(err as Error).message} ${cause}`.trim(), false, true);
      }
    };
    let res = await send();
    if (res.status === 401) {
      const challenge = res.headers.get("www-authenticate") ?? "";
      await res.body?.cancel();
      this.tokens.set(key, await this.token(ref, challenge));
      res = await send();
    }
    if (res.ok) return res;
    const body = await res.text().catch(() => "");
    throw new RegistryError(
      `GET ${url}: HTTP ${res.status} ${body.slice(0, 300)}`.trim(),
      res.status === 404,
      res.status >= 500 || res.status === 429,
    );
  }

  private async token(ref: ImageRef, challenge: string): Promise<string> {
    const m = /^Bearer\s+(.*)$/i.exec(challenge.trim());
    if (!m?.[1]) throw new RegistryError(`unsupported challenge ${JSON.stringify(challenge)}`, false, false);
    const params = new Map<string, string>();
    for (const p of m[1].matchAll(/(\w+)="([^"]*)"/g)) params.set(p[1] ?? "", p[2] ?? "");
    const realm = params.get("realm");
    if (!realm) throw new RegistryError("the challenge names no realm", false, false);
    const url = new URL(realm);
    url.host = aliasOf(url.host, this.opts.hostAliases);
    const service = params.get("service");
    if (service) url.searchParams.set("service", service);
    url.searchParams.set("scope", params.get("scope") ?? `repository:${ref.repo}:pull`);
    const headers: Record<string, string> = {};
    const creds = await this.opts.credentials?.(ref.registry);
    if (creds)
      headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
    const res = await fetch(url, {
      headers,
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 15_000),
    }).catch((err: Error) => {
      throw new RegistryError(`token from ${url.origin}: ${err.message}`, false, true);
    });
    if (!res.ok)
      throw new RegistryError(`token from ${url.origin}: HTTP ${res.status}`, false, res.status >= 500);
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`token from ${url.origin}: no token in the answer`, false, false);
    return token;
  }

  /** The image manifest for this platform, and its digest (of the index when the reference names one). */
  async manifest(ref: ImageRef): Promise<{ manifest: Manifest; digest: string }> {
    const accept = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest].join(", ");
    const res = await this.get(ref, `/manifests/${ref.digest ?? ref.tag}`, accept);
    const raw = Buffer.from(await res.arrayBuffer());
    const digest = sha256(raw);
    if (ref.digest && ref.digest !== digest)
      throw new RegistryError(`manifest digest ${digest} is not ${ref.digest}`, false, false);
    const doc = JSON.parse(raw.toString("utf8")) as Manifest & { manifests?: Descriptor[] };
    const type = doc.mediaType ?? res.headers.get("content-type") ?? "";
    if (doc.manifests || type === MEDIA.ociIndex || type === MEDIA.dockerList) {
      const arch = process.arch === "x64" ? "amd64" : process.arch;
      const pick = (doc.manifests ?? []).find(
        (d) => (d.platform?.os ?? "linux") === "linux" && (d.platform?.architecture ?? arch) === arch,
      );
      if (!pick) throw new RegistryError(`no manifest for linux/${arch}`, true, false);
      const inner = await this.get(
        ref,
        `/manifests/${pick.digest}`,
        [MEDIA.ociManifest, MEDIA.dockerManifest].join(", "),
      );
      const innerRaw = Buffer.from(await inner.arrayBuffer());
      if (sha256(innerRaw) !== pick.digest)
        throw new RegistryError(`manifest ${pick.digest} does not match`, false, false);
      return { manifest: JSON.parse(innerRaw.toString("utf8")) as Manifest, digest };
    }
    if (!doc.config || !Array.isArray(doc.layers))
      throw new RegistryError(`unsupported manifest ${JSON.stringify(type)}`, false, false);
    return { manifest: doc, digest };
  }
}
