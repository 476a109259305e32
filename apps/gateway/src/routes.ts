import type { PathType } from "@berth/kube";

/**
 * The gateway's routing table, pure: which backend serves a host and path. Hosts match exactly,
 * else by wildcard (`*.example.com` matches one more leftmost label: `a.example.com`, not
 * `a.b.example.com` nor `example.com`), as Kubernetes specifies. Within a host, an `Exact` path
 * beats every `Prefix`; among prefixes the longest wins; a prefix matches whole path segments
 * (`/foo` matches `/foo`, `/foo/` and `/foo/bar`, not `/foobar`; a trailing `/` is ignored).
 * `ImplementationSpecific` is matched as `Prefix`.
 */
export interface Backend {
  tenantId: string;
  clusterId: string;
  namespace: string;
  /** The Ingress and its uid (stats are kept per Ingress). */
  ingress: string;
  ingressUid: string;
  /** The rule's host as written (`*.x.y` for a wildcard) and path, for stats and logs. */
  ruleHost: string;
  rulePath: string;
  service: string;
  port: number | string;
}

interface PathEntry {
  path: string;
  /** For prefixes: the path's segments (no empty ones). */
  segments: string[];
  backend: Backend;
}

export class HostRoutes {
  private readonly exact = new Map<string, Backend>();
  private prefixes: PathEntry[] = [];
  /** Requests of this host no path matches (an Ingress's defaultBackend). */
  fallback: Backend | undefined;

  /** Adds a path; the first Ingress to add a path keeps it (callers add the oldest first). */
  add(path: string, pathType: PathType, backend: Backend): void {
    if (pathType === "Exact") {
      if (!this.exact.has(path)) this.exact.set(path, backend);
      return;
    }
    const segments = segmentsOf(path);
    if (this.prefixes.some((p) => sameSegments(p.segments, segments))) return;
    this.prefixes.push({ path, segments, backend });
    this.prefixes.sort((a, b) => b.segments.length - a.segments.length);
  }

  /** The exact paths, and the prefixes (as `/a/b`, longest first), in the order they are tried. */
  ordered(): { exact: [string, Backend][]; prefixes: { prefix: string; backend: Backend }[] } {
    return {
      exact: [...this.exact],
      prefixes: this.prefixes.map((p) => ({ prefix: `/${p.segments.join("/")}`, backend: p.backend })),
    };
  }

  match(path: string): Backend | undefined {
    const exact = this.exact.get(path);
    if (exact) return exact;
    const segments = segmentsOf(path);
    for (const p of this.prefixes)
      if (p.segments.length <= segments.length && p.segments.every((s, i) => s === segments[i]))
        return p.backend;
    return this.fallback;
  }
}

const segmentsOf = (path: string) => path.split("/").filter((s) => s !== "");
const sameSegments = (a: string[], b: string[]) => a.length === b.length && a.every((s, i) => s === b[i]);

/** Exact hosts and wildcard suffixes (`.example.com` for `*.example.com`) to their routes. */
export class RouteTable {
  private readonly exact = new Map<string, HostRoutes>();
  private readonly wildcard = new Map<string, HostRoutes>();

  /** The routes of a host as written in a rule (`*.x.y` or a name), made on first use. */
  routesOf(host: string): HostRoutes {
    const wild = host.startsWith("*.");
    const map = wild ? this.wildcard : this.exact;
    const key = wild ? host.slice(1) : host;
    let r = map.get(key);
    if (!r) {
      r = new HostRoutes();
      map.set(key, r);
    }
    return r;
  }

  /** Every host's routes: exact hosts, and wildcards as the suffix they cover (`.example.com`). */
  hosts(): { exact: [string, HostRoutes][]; wildcard: [string, HostRoutes][] } {
    return { exact: [...this.exact], wildcard: [...this.wildcard] };
  }

  /** The routes serving a request's host: the exact host's, else its one-label wildcard's. */
  lookup(host: string): HostRoutes | undefined {
    const exact = this.exact.get(host);
    if (exact) return exact;
    const dot = host.indexOf(".");
    return dot > 0 ? this.wildcard.get(host.slice(dot)) : undefined;
  }

  match(host: string, path: string): { routes: HostRoutes | undefined; backend: Backend | undefined } {
    const routes = this.lookup(host);
    return { routes, backend: routes?.match(path) };
  }
}

/** The host of a request's Host header: lower case, without a port or a trailing dot. */
export function requestHost(header: string | undefined): string {
  if (!header) return "";
  let h = header.toLowerCase();
  if (h.startsWith("[")) return h; // an IPv6 literal: never an Ingress host
  const colon = h.lastIndexOf(":");
  if (colon >= 0) h = h.slice(0, colon);
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

/** The path of a request target, without its query. */
export function requestPath(url: string | undefined): string {
  if (!url) return "/";
  const q = url.indexOf("?");
  const p = q >= 0 ? url.slice(0, q) : url;
  return p.startsWith("/") ? p : "/";
}
