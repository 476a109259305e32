/**
 * How Berth names images in its registry, and the scopes of the Docker token protocol
 * (`repository:<name>:<actions>`), read the way the CNCF Distribution registry writes them.
 *
 *   <registry>/<tenant id>/<repo>[:tag]   a tenant's own images (`127.0.0.1:55000/ten_…/web:1`)
 *   <registry>/library/<repo>[:tag]       the platform's images: every tenant and node may pull, only
 *                                         the platform (the holder of the signing key) pushes
 */

/** The namespace of the platform's images (the demo image), readable by every tenant. */
export const PUBLIC_NAMESPACE = "library";

/** A tenant's namespace in the registry is its id (`ten_…`): unique, never reused, never renamed. */
export const tenantNamespace = (tenantId: string): string => tenantId;

const component = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
/** A repository name of the distribution grammar (path components joined by `/`), at most 255 characters. */
export const REPOSITORY_NAME = new RegExp(`^${component}(?:/${component})*$`);

export type RegistryAction = "pull" | "push";

/** One entry of a token's `access` claim: what the registry lets the bearer do. */
export interface ResourceAccess {
  type: string;
  name: string;
  actions: string[];
}

export interface Scope {
  type: string;
  name: string;
  actions: string[];
}

/**
 * Parses one scope of a token request (`repository:ten_x/web:pull,push`). The name sits between
 * the first and the last colon (Distribution's own rule), so a name with a port-like colon still
 * parses. Null when it is not a scope at all.
 */
export function parseScope(scope: string): Scope | null {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first <= 0 || last === first) return null;
  const type = scope.slice(0, first);
  const name = scope.slice(first + 1, last);
  const actions = scope
    .slice(last + 1)
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  if (!/^[a-z0-9]+(?:\([a-z0-9]+\))?$/.test(type) || name.length === 0 || name.length > 255) return null;
  return { type, name, actions: [...new Set(actions)] };
}

/** The scope string a client asks the token service for. */
export const formatScope = (s: Scope): string => `${s.type}:${s.name}:${s.actions.join(",")}`;

/** `ten_x/web` → `{ namespace: "ten_x", path: "web" }`; null for a name without a namespace or off the grammar. */
export function splitRepository(name: string): { namespace: string; path: string } | null {
  if (name.length > 255 || !REPOSITORY_NAME.test(name)) return null;
  const slash = name.indexOf("/");
  if (slash === -1) return null;
  return { namespace: name.slice(0, slash), path: name.slice(slash + 1) };
}
