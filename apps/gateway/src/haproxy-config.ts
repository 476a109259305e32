import { createHash } from "node:crypto";
import { join } from "node:path";
import type { GatewayConfig } from "./config";
import type { Backend, HostRoutes } from "./routes";

/** A pod address and port a backend forwards to. */
export interface Target {
  ip: string;
  port: number;
}

export interface HaproxyListen {
  host: string;
  httpPort: number;
  httpsPort: number;
  /** HAProxy's threads (`nbthread`). */
  threads: number;
  connectTimeoutMs: number;
  /** Where HAProxy sends one line per request (UDP, the gateway's own socket on loopback). */
  logPort: number;
  /** Where the configuration, the certificates and the admin socket live. */
  runDir: string;
}

/** One configuration of HAProxy: its text, the certificate files it names, and its backends. */
export interface HaproxyConfig {
  text: string;
  /** File name (in `<runDir>/certs`) → PEM chain and key. */
  certificates: Map<string, string>;
  /** The crt-list: a certificate file and the SNI names it serves, per line. */
  crtList: string;
  /** HAProxy backend name → the Ingress route it serves (to attribute each logged request). */
  routes: Map<string, Backend>;
}

/** What a request is logged as: frontend, backend, status, bytes, ms, client, method, host, path, upstream. */
export const LOG_FORMAT = "%f %b %ST %B %Ta %ci %HM %[var(txn.host),url_enc] %HP %si:%sp";

/** A configuration argument, double-quoted: HAProxy expands `$` and unescapes `\` inside quotes. */
export const quote = (s: string) => `"${s.replace(/[\\"$]/g, (c) => `\\${c}`).replace(/\n/g, "\\n")}"`;

const regexOfSuffix = (suffix: string) => `^[^.]+${suffix.replace(/[.\\^$|?*+()[\]{}-]/g, (c) => `\\${c}`)}$`;

/** A backend's name: stable across configurations, so lines logged by a worker being replaced still count. */
function backendName(b: Backend): string {
  const id = [b.ingressUid, b.ruleHost, b.rulePath, b.service, String(b.port)].join("\0");
  return `r_${createHash("sha256").update(id).digest("hex").slice(0, 16)}`;
}

const servers = (targets: readonly Target[]) => targets.map((t, i) => `  server e${i} ${t.ip}:${t.port}`);

const text = (status: number, body: string, format = false) =>
  `http-request return status ${status} content-type "text/plain; charset=utf-8" ${format ? "lf-string" : "string"} ${quote(`${body}\n`)}`;

/** The `use_backend` lines of one host (exact paths, prefixes longest first, default backend, else 404). */
function hostRules(host: string, r: HostRoutes, use: (b: Backend) => string): string[] {
  const out: string[] = [];
  const { exact, prefixes } = r.ordered();
  for (const [path, b] of exact) out.push(`use_backend ${use(b)} if ${host} { path -m str ${quote(path)} }`);
  for (const { prefix, backend } of prefixes)
    if (prefix === "/") out.push(`use_backend ${use(backend)} if ${host}`);
    else
      out.push(
        `use_backend ${use(backend)} if ${host} { var(txn.path) -m str ${quote(prefix)} } || ${host} { var(txn.path) -m beg ${quote(`${prefix}/`)} }`,
      );
  if (r.fallback) out.push(`use_backend ${use(r.fallback)} if ${host}`);
  out.push(`use_backend be_norule if ${host}`);
  return out;
}

/**
 * HAProxy's configuration for what the gateway serves, built whole (pure): the HTTP and HTTPS
 * frontends route by host and path exactly as `RouteTable.match` decides (exact hosts before
 * wildcards; per host exact paths, then prefixes by whole segments longest first, then the
 * Ingress's default backend, else 404), a backend per route with its ready endpoints (round robin;
 * a refused or timed-out connect is retried on the next endpoint), a 308 to HTTPS for hosts with a
 * certificate, and a TCP frontend per LoadBalancer port.
 */
export function haproxyConfig(
  config: GatewayConfig,
  endpointsOf: (b: Backend) => readonly Target[],
  loadBalancers: ReadonlyMap<number, readonly Target[]>,
  listen: HaproxyListen,
): HaproxyConfig {
  const routes = new Map<string, Backend>();
  const use = (b: Backend) => {
    const name = backendName(b);
    routes.set(name, b);
    return name;
  };
  const rules: string[] = [];
  const { exact, wildcard } = config.routes.hosts();
  for (const [host, r] of exact) rules.push(...hostRules(`{ var(txn.host) -m str ${quote(host)} }`, r, use));
  for (const [suffix, r] of wildcard)
    rules.push(...hostRules(`{ var(txn.host) -m reg ${quote(regexOfSuffix(suffix))} }`, r, use));

  const certificates = new Map<string, string>();
  const sni = new Map<string, string[]>();
  const tlsExact: string[] = [];
  const tlsWild: string[] = [];
  for (const [host, cert] of config.tls) {
    const file = `${cert.digest.slice(0, 32)}.pem`;
    certificates.set(file, cert.pem);
    sni.set(file, [...(sni.get(file) ?? []), host]);
    if (host.startsWith("*.")) tlsWild.push(regexOfSuffix(host.slice(1)));
    else tlsExact.push(host);
  }
  const crtList = [...sni]
    .map(([file, hosts]) => `${join(listen.runDir, "certs", file)} ${hosts.join(" ")}\n`)
    .join("");

  const httpsPort = listen.httpsPort === 443 ? "" : `:${listen.httpsPort}`;
  const redirect = `http-request redirect code 308 location https://%[var(txn.host)]${httpsPort}%[capture.req.uri]`;
  const common = (scheme: "http" | "https") => [
    "http-request set-var(txn.host) req.hdr(host),field(1,:),lower,regsub(\\.$,)",
    "http-request set-var(txn.path) path,regsub(/+,/,g)",
    `http-request set-header X-Forwarded-Proto ${scheme}`,
    "http-request set-header X-Forwarded-Host %[req.hdr(host)]",
  ];
  const lines = [
    "global",
    `  nbthread ${listen.threads}`,
    "  hard-stop-after 30s",
    `  stats socket ${join(listen.runDir, "admin.sock")} mode 600 level admin expose-fd listeners`,
    `  log 127.0.0.1:${listen.logPort} len 8192 format raw local0`,
    "  ssl-default-bind-options ssl-min-ver TLSv1.2",
    "defaults",
    "  mode http",
    "  log global",
    "  option dontlognull",
    `  log-format ${quote(LOG_FORMAT)}`,
    `  timeout connect ${listen.connectTimeoutMs}ms`,
    "  timeout client 60s",
    "  timeout server 60s",
    "  timeout http-request 10s",
    "  timeout tunnel 1h",
    "  retries 2",
    "  option redispatch 1",
    "  option forwardfor",
    "  http-reuse safe",
    "frontend http",
    `  bind ${listen.host}:${listen.httpPort}`,
    ...common("http").map((l) => `  ${l}`),
    ...(tlsExact.length > 0
      ? [`  ${redirect} if { var(txn.host) -m str ${tlsExact.map(quote).join(" ")} }`]
      : []),
    ...tlsWild.map((re) => `  ${redirect} if { var(txn.host) -m reg ${quote(re)} }`),
    ...rules.map((l) => `  ${l}`),
    "  default_backend be_nohost",
    "frontend https",
    `  bind ${listen.host}:${listen.httpsPort} ssl crt-list ${join(listen.runDir, "crt.list")} strict-sni alpn http/1.1`,
    ...common("https").map((l) => `  ${l}`),
    ...rules.map((l) => `  ${l}`),
    "  default_backend be_nohost",
    "backend be_nohost",
    `  ${text(404, 'no Ingress serves host "%[var(txn.host)]"', true)}`,
    "backend be_norule",
    `  ${text(404, 'no rule of host "%[var(txn.host)]" matches %[path]', true)}`,
  ];
  for (const [name, b] of routes) {
    lines.push(`backend ${name}`, "  balance roundrobin");
    const targets = endpointsOf(b);
    if (targets.length === 0)
      lines.push(
        `  ${text(503, `service ${b.namespace}/${b.service} has no ready endpoint for port ${b.port}`)}`,
      );
    lines.push(...servers(targets));
  }
  // LoadBalancer ports: plain TCP, under defaults of their own (no request log).
  if (loadBalancers.size > 0)
    lines.push(
      "defaults tcp",
      "  mode tcp",
      `  timeout connect ${listen.connectTimeoutMs}ms`,
      "  timeout client 1h",
      "  timeout server 1h",
      "  retries 2",
      "  option redispatch 1",
    );
  for (const [port, targets] of loadBalancers) {
    lines.push(`frontend lb_${port}`, `  bind ${listen.host}:${port}`, `  default_backend lbb_${port}`);
    lines.push(`backend lbb_${port}`, "  balance roundrobin");
    if (targets.length === 0) lines.push("  tcp-request content reject");
    lines.push(...servers(targets));
  }
  return { text: `${lines.join("\n")}\n`, certificates, crtList, routes };
}
