/** A `WWW-Authenticate` challenge of a registry: the scheme and its parameters. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses `Bearer realm="https://auth/token",service="registry",scope="repository:a/b:pull"`
 * (RFC 7235 auth-params, quoted or bare). Null when there is no challenge.
 */
export function parseChallenge(header: string | null | undefined): Challenge | null {
  if (!header) return null;
  const m = /^\s*([A-Za-z][A-Za-z0-9-]*)\s*(.*)$/s.exec(header);
  if (!m?.[1]) return null;
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))\s*(?:,|$)/g;
  for (const p of (m[2] ?? "").matchAll(re)) {
    const name = p[1];
    if (name) params[name.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : (p[3] ?? "");
  }
  return { scheme: m[1].toLowerCase(), params };
}
