import { createHash } from "node:crypto";
import { certificateCovers, checkTlsSecretData, type IngressBackend } from "@berth/kube";
import { type Backend, RouteTable } from "./routes";
import { type IngressView, objectKey, type Snapshot } from "./snapshot";

/** A status condition as the gateway writes it on an Ingress. */
export interface Condition {
  type: string;
  status: "True" | "False";
  reason: string;
  message: string;
}

/** A certificate the gateway serves: its chain and key (PEM, one file for HAProxy), by digest. */
export interface ServedCertificate {
  /** sha256 of the Secret's certificate and key: names the file, groups the hosts sharing it. */
  digest: string;
  pem: string;
}

/** What the servers use, built whole from a snapshot and swapped in at once. */
export interface GatewayConfig {
  routes: RouteTable;
  /** Hosts (exact, or `*.suffix` for a wildcard) served over HTTPS, and their certificate. */
  tls: Map<string, ServedCertificate>;
  /** Per Ingress uid: the conditions its status should carry. */
  conditions: Map<string, Condition[]>;
}

function backendOf(i: IngressView, b: IngressBackend, ruleHost: string, rulePath: string): Backend {
  const port = "number" in b.service.port ? b.service.port.number : b.service.port.name;
  return {
    tenantId: i.tenantId,
    clusterId: i.clusterId,
    namespace: i.namespace,
    ingress: i.name,
    ingressUid: i.uid,
    ruleHost,
    rulePath,
    service: b.service.name,
    port,
  };
}

const ok = (type: string, reason: string, message: string): Condition => ({
  type,
  status: "True",
  reason,
  message,
});
const bad = (type: string, reason: string, message: string): Condition => ({
  type,
  status: "False",
  reason,
  message,
});

interface LoadedCertificate {
  parsed: ReturnType<typeof checkTlsSecretData>;
  served: ServedCertificate;
}

/**
 * Certificates checked and parsed once, not at every refresh: keyed by the digest of the Secret's
 * certificate and key; entries no refresh used for an hour are dropped.
 */
const certificates = new Map<string, LoadedCertificate & { usedAt: number }>();

function loadCertificate(data: Record<string, string>, now: Date): LoadedCertificate {
  const key = createHash("sha256")
    .update(data["tls.crt"] ?? "")
    .update("\0")
    .update(data["tls.key"] ?? "")
    .digest("hex");
  let c = certificates.get(key);
  if (!c) {
    const parsed = checkTlsSecretData(data, now);
    const pem = [data["tls.crt"], data["tls.key"]]
      .map((b64) =>
        Buffer.from(b64 ?? "", "base64")
          .toString("utf8")
          .trim(),
      )
      .join("\n");
    c = { parsed, served: { digest: key, pem: `${pem}\n` }, usedAt: now.getTime() };
    certificates.set(key, c);
  }
  c.usedAt = now.getTime();
  const notAfter = new Date(c.parsed.cert.validTo);
  if (notAfter.getTime() <= now.getTime())
    throw new Error(`the certificate expired at ${notAfter.toISOString()}`);
  for (const [k, v] of certificates) if (now.getTime() - v.usedAt > 3_600_000) certificates.delete(k);
  return c;
}

/** TLS of one Ingress: a context per covered host, and a condition saying what could not be served. */
function tlsOf(
  i: IngressView,
  snapshot: Snapshot,
  now: Date,
  into: Map<string, ServedCertificate>,
): Condition {
  const problems: { reason: string; message: string }[] = [];
  for (const t of i.spec.tls) {
    if (!t.secretName) {
      problems.push({ reason: "SecretNotSpecified", message: "a tls entry names no secretName" });
      continue;
    }
    const secret = snapshot.secrets.get(objectKey(i.clusterId, i.namespace, t.secretName));
    if (!secret) {
      problems.push({
        reason: "SecretNotFound",
        message: `secret ${i.namespace}/${t.secretName} does not exist; ${t.hosts.join(", ")} served over plain HTTP`,
      });
      continue;
    }
    if (secret.type !== "kubernetes.io/tls") {
      problems.push({
        reason: "SecretWrongType",
        message: `secret ${i.namespace}/${t.secretName} is of type ${secret.type}, not kubernetes.io/tls`,
      });
      continue;
    }
    let loaded: LoadedCertificate;
    try {
      loaded = loadCertificate(secret.data, now);
    } catch (error) {
      problems.push({
        reason: "CertificateInvalid",
        message: `secret ${i.namespace}/${t.secretName}: ${(error as Error).message}`,
      });
      continue;
    }
    const { parsed, served } = loaded;
    for (const host of t.hosts) {
      if (!certificateCovers(parsed.cert, host)) {
        problems.push({
          reason: "CertificateHostMismatch",
          message: `the certificate of secret ${i.namespace}/${t.secretName} does not cover ${host}`,
        });
        continue;
      }
      if (!into.has(host)) into.set(host, served);
    }
  }
  const first = problems[0];
  if (first) return bad("berth.io/TLSReady", first.reason, problems.map((p) => p.message).join("; "));
  return ok("berth.io/TLSReady", i.spec.tls.length > 0 ? "CertificatesLoaded" : "NoTLS", "");
}

/** Backends of one Ingress that name a Service or port that does not exist (requests to them get 503). */
function backendsCondition(i: IngressView, snapshot: Snapshot): Condition {
  const missing: string[] = [];
  const all = [
    ...(i.spec.defaultBackend ? [i.spec.defaultBackend] : []),
    ...i.spec.rules.flatMap((r) => r.paths.map((p) => p.backend)),
  ];
  for (const b of all) {
    const s = snapshot.services.get(objectKey(i.clusterId, i.namespace, b.service.name));
    const port = b.service.port;
    if (!s) missing.push(`service ${b.service.name} does not exist`);
    else if (
      !s.spec.ports.some(
        (p) => p.protocol === "TCP" && ("number" in port ? p.port === port.number : p.name === port.name),
      )
    )
      missing.push(`service ${b.service.name} has no TCP port ${"number" in port ? port.number : port.name}`);
  }
  if (missing.length > 0)
    return bad("berth.io/BackendsReady", "BackendNotFound", [...new Set(missing)].join("; "));
  return ok("berth.io/BackendsReady", "BackendsFound", "");
}

/**
 * Routes, certificates and conditions of every Ingress. The shared gateway routes by host: rules
 * without a host and a `defaultBackend` apply to the hosts the same Ingress names (an Ingress that
 * names none is not served, and says so), never to other tenants' traffic.
 */
export function buildConfig(snapshot: Snapshot, now: Date): GatewayConfig {
  const config: GatewayConfig = { routes: new RouteTable(), tls: new Map(), conditions: new Map() };
  for (const i of snapshot.ingresses) {
    const hosts = [...new Set(i.spec.rules.flatMap((r) => (r.host ? [r.host] : [])))];
    const conditions: Condition[] = [];
    if (hosts.length === 0)
      conditions.push(
        bad(
          "berth.io/Served",
          "NoHost",
          "the platform's gateway routes by host name: give at least one rules[].host",
        ),
      );
    else conditions.push(ok("berth.io/Served", "Served", `served for ${hosts.join(", ")}`));
    for (const r of i.spec.rules) {
      const targets = r.host ? [r.host] : hosts;
      for (const host of targets)
        for (const p of r.paths)
          config.routes.routesOf(host).add(p.path, p.pathType, backendOf(i, p.backend, host, p.path));
    }
    if (i.spec.defaultBackend)
      for (const host of hosts) {
        const routes = config.routes.routesOf(host);
        routes.fallback ??= backendOf(i, i.spec.defaultBackend, host, "");
      }
    conditions.push(tlsOf(i, snapshot, now, config.tls));
    conditions.push(backendsCondition(i, snapshot));
    config.conditions.set(i.uid, conditions);
  }
  return config;
}
