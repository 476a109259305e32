import { ValidationError } from "./errors";

/**
 * Container image references, read the way Docker reads them (distribution/reference's
 * ParseNormalizedNamed + TagNameOnly): `nginx` is `docker.io/library/nginx:latest`; a first path
 * component with a `.` or `:`, equal to `localhost`, or with upper-case letters is a registry host;
 * then the OCI reference grammar. The normalised form names exactly one registry, so an allow-list
 * of prefixes can be checked against it, and the node pulls exactly what was checked (no short-name
 * search of the runtime).
 */
export interface ImageReference {
  /** The registry host, with its port if any (`docker.io`, `localhost:5000`, `[::1]:5000`). */
  domain: string;
  /** The repository path inside the registry (`library/nginx`). */
  path: string;
  tag: string | null;
  digest: string | null;
  /** `domain/path`. */
  repository: string;
  /** `domain/path[:tag][@digest]`, with `:latest` when neither tag nor digest was given. */
  normalised: string;
}

const DEFAULT_DOMAIN = "docker.io";
const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
const NAME_MAX = 255;

const alphanumeric = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const host = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])`;
const DOMAIN = new RegExp(`^${host}(?::[0-9]{1,5})?$`);
const PATH = new RegExp(`^${pathComponent}(?:/${pathComponent})*$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const HEX64 = /^[a-f0-9]{64}$/;

function fail(path: string, image: string, why: string): never {
  throw new ValidationError(`${path}: ${JSON.stringify(image)} is not a valid image reference: ${why}`, [
    { path, message: why },
  ]);
}

/** Docker's split: is the first path component a registry host? */
function splitDomain(name: string): { domain: string; remainder: string } {
  const i = name.indexOf("/");
  const first = i === -1 ? "" : name.slice(0, i);
  const isHost = i !== -1 && (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first);
  let domain = isHost ? first : DEFAULT_DOMAIN;
  let remainder = isHost ? name.slice(i + 1) : name;
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes("/")) remainder = `library/${remainder}`;
  return { domain, remainder };
}

function checkDigest(digest: string, path: string, image: string): void {
  const colon = digest.indexOf(":");
  const algorithm = digest.slice(0, colon);
  const encoded = digest.slice(colon + 1);
  const length = DIGEST_LENGTHS[algorithm];
  if (colon === -1 || length === undefined)
    fail(path, image, "the digest must be sha256:, sha384: or sha512: followed by hex");
  if (encoded.length !== length || !/^[a-f0-9]+$/.test(encoded))
    fail(path, image, `a ${algorithm} digest is ${length} lower-case hex digits`);
}

/** Parses and normalises an image reference; a ValidationError naming `path` when it is not one. */
export function parseImageReference(image: string, path = "image"): ImageReference {
  if (image.length === 0 || image.length > 512) fail(path, image, "it must be 1 to 512 characters");
  if (image !== image.trim() || /\s/.test(image)) fail(path, image, "it must not contain white space");
  if (HEX64.test(image)) fail(path, image, "a bare 64-hex-digit id is not a repository name");
  let rest = image;
  let digest: string | null = null;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    checkDigest(digest, path, image);
  }
  let tag: string | null = null;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail(path, image, "a tag is 1 to 128 of letters, digits, '_', '.' and '-'");
  }
  const { domain, remainder } = splitDomain(rest);
  if (!DOMAIN.test(domain)) fail(path, image, `${JSON.stringify(domain)} is not a registry host`);
  if (remainder.toLowerCase() !== remainder) fail(path, image, "the repository name must be lower-case");
  if (!PATH.test(remainder))
    fail(path, image, "the repository name is lower-case letters and digits separated by '.', '_', '-', '/'");
  const repository = `${domain}/${remainder}`;
  if (repository.length > NAME_MAX)
    fail(path, image, `the repository name is longer than ${NAME_MAX} characters`);
  const normalised = `${repository}${tag !== null ? `:${tag}` : digest === null ? ":latest" : ""}${
    digest !== null ? `@${digest}` : ""
  }`;
  return { domain, path: remainder, tag, digest, repository, normalised };
}

/**
 * Checks a registry host as image references name it (`127.0.0.1:55000`, `registry.example`): it
 * must read as a host in Docker's split (a `.` or `:`, or `localhost`). The reason it is not, or null.
 */
export function registryHostProblem(host: string): string | null {
  if (!DOMAIN.test(host)) return `${JSON.stringify(host)} is not a registry host (host[:port])`;
  if (!(/[.:]/.test(host) || host === "localhost"))
    return `${JSON.stringify(host)} would be read as a repository, not a host: it needs a '.' or a ':port'`;
  if (host === LEGACY_DEFAULT_DOMAIN || host === DEFAULT_DOMAIN) return "Docker Hub is not Berth's registry";
  return null;
}

/** The platform's default list of allowed image prefixes: images built on the node itself. */
export const DEFAULT_ALLOWED_IMAGE_PREFIXES: readonly string[] = ["localhost/"];
export const MAX_ALLOWED_IMAGE_PREFIXES = 64;

/**
 * Checks one allowed prefix: a registry host, a `/`, then optionally a repository path, e.g.
 * `localhost/`, `ghcr.io/acme/`, `docker.io/library/nginx`. Returns the reason it is not one, or null.
 */
export function imagePrefixProblem(prefix: string): string | null {
  if (prefix.length === 0 || prefix.length > NAME_MAX) return `it must be 1 to ${NAME_MAX} characters`;
  const slash = prefix.indexOf("/");
  if (slash === -1) return "it must be a registry host followed by '/' (e.g. localhost/, ghcr.io/acme/)";
  const domain = prefix.slice(0, slash);
  if (!(/[.:]/.test(domain) || domain === "localhost"))
    return `it must start with a registry host (one with a '.' or ':', or localhost), e.g. docker.io/${prefix}`;
  if (!DOMAIN.test(domain)) return `${JSON.stringify(domain)} is not a registry host`;
  if (domain === LEGACY_DEFAULT_DOMAIN) return `write ${DEFAULT_DOMAIN} instead of ${LEGACY_DEFAULT_DOMAIN}`;
  const rest = prefix.slice(slash + 1).replace(/\/$/, "");
  if (rest !== "" && !PATH.test(rest))
    return "after the host comes a repository path: lower-case letters and digits separated by '.', '_', '-', '/' (no tag or digest)";
  return null;
}

/**
 * Validates a list of allowed image prefixes (the platform default, or a tenant's own list);
 * a ValidationError naming `path` and the bad entry when one is not a prefix.
 */
export function validateImagePrefixes(prefixes: readonly string[], path = "allowedImagePrefixes"): string[] {
  if (prefixes.length > MAX_ALLOWED_IMAGE_PREFIXES)
    throw new ValidationError(`${path}: at most ${MAX_ALLOWED_IMAGE_PREFIXES} prefixes`);
  return prefixes.map((p, i) => {
    const problem = imagePrefixProblem(p);
    if (problem)
      throw new ValidationError(`${path}[${i}]: ${JSON.stringify(p)} is not an image prefix: ${problem}`, [
        { path: `${path}[${i}]`, message: problem },
      ]);
    return p;
  });
}

/**
 * Whether a reference is allowed: its repository (`domain/path`) starts with a prefix ending in
 * `/`, or equals or lies under a prefix without one (`docker.io/library/nginx` allows
 * `docker.io/library/nginx:1.27`, not `docker.io/library/nginx-evil`). Hosts compare exactly, so
 * `localhost/` does not allow `localhost:5000/x`.
 */
export function imageAllowed(ref: ImageReference, prefixes: readonly string[]): boolean {
  return prefixes.some((p) =>
    p.endsWith("/")
      ? ref.repository.startsWith(p)
      : ref.repository === p || ref.repository.startsWith(`${p}/`),
  );
}
