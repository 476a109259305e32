import { z } from "zod";
import { DNS_LABEL_RE, DNS_SUBDOMAIN, objectMetaSchema } from "../meta";
import { ignored, invalid } from "./common";

/**
 * networking.k8s.io/v1 Ingress, as `kubectl create ingress` writes it, validated as Kubernetes'
 * ValidateIngress does for what Berth serves: service backends (not `resource`), hosts that are
 * DNS names (a wildcard only as the whole leftmost label, never an IP address), absolute paths.
 * `ImplementationSpecific` paths are matched as `Prefix` by Berth's gateway.
 */
export const PATH_TYPES = ["Exact", "Prefix", "ImplementationSpecific"] as const;
export type PathType = (typeof PATH_TYPES)[number];

const portSchema = z
  .object({
    number: z.number().int().optional(),
    name: z.string().max(63).optional(),
  })
  .strict();

const backendSchema = z
  .object({
    service: z
      .object({ name: z.string().min(1).max(253), port: portSchema })
      .strict()
      .optional(),
    resource: z.unknown().optional(),
  })
  .strict();

const pathSchema = z
  .object({
    path: z.string().max(2048).optional(),
    pathType: z.enum(PATH_TYPES).optional(),
    backend: backendSchema,
  })
  .strict();

export const ingressSchema = z
  .object({
    apiVersion: z.literal("networking.k8s.io/v1").optional(),
    kind: z.literal("Ingress").optional(),
    metadata: objectMetaSchema.optional(),
    spec: z
      .object({
        ingressClassName: z.string().min(1).max(253).optional(),
        defaultBackend: backendSchema.optional(),
        rules: z
          .array(
            z
              .object({
                host: z.string().max(253).optional(),
                http: z
                  .object({ paths: z.array(pathSchema).max(100) })
                  .strict()
                  .optional(),
              })
              .strict(),
          )
          .max(100)
          .optional(),
        tls: z
          .array(
            z
              .object({
                hosts: z.array(z.string().max(253)).max(100).optional(),
                secretName: z.string().max(253).optional(),
              })
              .strict(),
          )
          .max(100)
          .optional(),
      })
      .strict(),
    status: ignored,
  })
  .strict();
export type IngressInput = z.infer<typeof ingressSchema>;

export interface IngressBackend {
  service: { name: string; port: { number: number } | { name: string } };
}
export interface IngressPath {
  path: string;
  pathType: PathType;
  backend: IngressBackend;
}
export interface IngressRule {
  /** Absent: every host (the rule applies to requests for any host). */
  host?: string;
  paths: IngressPath[];
}
export interface IngressTLS {
  hosts: string[];
  secretName?: string;
}
export interface IngressSpec {
  ingressClassName?: string;
  defaultBackend?: IngressBackend;
  rules: IngressRule[];
  tls: IngressTLS[];
}

const IPV4_LIKE = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Kubernetes' host rule: a DNS-1123 subdomain, or `*.` and one, and never an IP address. */
export function hostProblem(host: string): string | undefined {
  if (IPV4_LIKE.test(host) || host.includes(":")) return "must be a DNS name, not an IP address";
  const name = host.startsWith("*.") ? host.slice(2) : host;
  if (name.includes("*"))
    return "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com')";
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name) || name.split(".").some((l) => l.length > 63))
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')";
  return undefined;
}

/** Kubernetes' IANA_SVC_NAME: at most 15 characters, letters, digits and '-', at least one letter. */
const IANA_SVC_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*[a-z0-9]?$/;

function normaliseBackend(b: z.infer<typeof backendSchema>, at: string): IngressBackend {
  if (b.resource !== undefined)
    invalid(`${at}.resource`, "Unsupported value: only service backends are served");
  if (!b.service) invalid(at, "Required value: one backend (`service`) must be specified");
  const s = b.service;
  if (!DNS_LABEL_RE.test(s.name) || s.name.length > 63)
    invalid(`${at}.service.name`, `Invalid value: ${JSON.stringify(s.name)}: must be a DNS-1035 label`);
  const { number, name } = s.port;
  if ((number === undefined) === (name === undefined))
    invalid(`${at}.service.port`, "Invalid value: exactly one of `number` or `name` must be specified");
  if (number !== undefined) {
    if (number < 1 || number > 65535)
      invalid(
        `${at}.service.port.number`,
        `Invalid value: ${number}: must be between 1 and 65535, inclusive`,
      );
    return { service: { name: s.name, port: { number } } };
  }
  if (!name || name.length > 15 || !IANA_SVC_NAME.test(name))
    invalid(
      `${at}.service.port.name`,
      `Invalid value: ${JSON.stringify(name)}: must be an IANA service name (at most 15 lower-case letters, digits and single '-', at least one letter)`,
    );
  return { service: { name: s.name, port: { name } } };
}

/** Kubernetes' rules for `Exact` and `Prefix` paths (ImplementationSpecific only needs the leading '/'). */
function checkPath(path: string, pathType: PathType, at: string): void {
  if (!path.startsWith("/"))
    invalid(`${at}.path`, `Invalid value: ${JSON.stringify(path)}: must be an absolute path`);
  if (pathType === "ImplementationSpecific") return;
  for (const bad of ["//", "/./", "/../", "%2f", "%2F"])
    if (path.includes(bad))
      invalid(`${at}.path`, `Invalid value: ${JSON.stringify(path)}: must not contain '${bad}'`);
  for (const end of ["/..", "/."])
    if (path.endsWith(end))
      invalid(`${at}.path`, `Invalid value: ${JSON.stringify(path)}: cannot end with '${end}'`);
  if (/[\s;{}]/.test(path))
    invalid(`${at}.path`, `Invalid value: ${JSON.stringify(path)}: must not contain spaces, ';', '{' or '}'`);
}

/** Admission of an Ingress (Kubernetes' ValidateIngressSpec for what Berth serves). */
export function normaliseIngress(input: IngressInput): IngressSpec {
  const spec = input.spec;
  if (spec.ingressClassName !== undefined && !DNS_SUBDOMAIN.test(spec.ingressClassName))
    invalid("spec.ingressClassName", "Invalid value: must be a DNS subdomain (RFC 1123)");
  if (!spec.defaultBackend && (spec.rules ?? []).length === 0)
    invalid("spec.rules", "Required value: either `defaultBackend` or `rules` must be specified");
  const rules: IngressRule[] = (spec.rules ?? []).map((r, i) => {
    const at = `spec.rules[${i}]`;
    if (r.host !== undefined && r.host !== "") {
      const problem = hostProblem(r.host);
      if (problem) invalid(`${at}.host`, `Invalid value: ${JSON.stringify(r.host)}: ${problem}`);
    }
    if (!r.http) {
      if (!spec.defaultBackend)
        invalid(`${at}.http`, "Required value: a rule needs `http.paths` when there is no `defaultBackend`");
      return { ...(r.host ? { host: r.host } : {}), paths: [] };
    }
    if (r.http.paths.length === 0) invalid(`${at}.http.paths`, "Required value: at least one path");
    const paths = r.http.paths.map((p, j) => {
      const pat = `${at}.http.paths[${j}]`;
      if (!p.pathType) invalid(`${pat}.pathType`, "Required value: pathType must be specified");
      const path = p.path ?? "/";
      checkPath(path, p.pathType, pat);
      return { path, pathType: p.pathType, backend: normaliseBackend(p.backend, `${pat}.backend`) };
    });
    return { ...(r.host ? { host: r.host } : {}), paths };
  });
  const tls: IngressTLS[] = (spec.tls ?? []).map((t, i) => {
    (t.hosts ?? []).forEach((h, j) => {
      const problem = hostProblem(h);
      if (problem) invalid(`spec.tls[${i}].hosts[${j}]`, `Invalid value: ${JSON.stringify(h)}: ${problem}`);
    });
    if (t.secretName !== undefined && !DNS_SUBDOMAIN.test(t.secretName))
      invalid(`spec.tls[${i}].secretName`, "Invalid value: must be a DNS subdomain (RFC 1123)");
    return { hosts: t.hosts ?? [], ...(t.secretName ? { secretName: t.secretName } : {}) };
  });
  return {
    ...(spec.ingressClassName ? { ingressClassName: spec.ingressClassName } : {}),
    ...(spec.defaultBackend
      ? { defaultBackend: normaliseBackend(spec.defaultBackend, "spec.defaultBackend") }
      : {}),
    rules,
    tls,
  };
}

/** Every host an Ingress names in its rules (the ones it claims), deduplicated, in order. */
export function ingressHosts(spec: IngressSpec): string[] {
  return [...new Set(spec.rules.flatMap((r) => (r.host ? [r.host] : [])))];
}

const renderBackend = (b: IngressBackend) => ({ service: { name: b.service.name, port: b.service.port } });

/** An Ingress's `spec` as Kubernetes shows it. */
export function renderIngressSpec(s: IngressSpec): Record<string, unknown> {
  return {
    ...(s.ingressClassName ? { ingressClassName: s.ingressClassName } : {}),
    ...(s.defaultBackend ? { defaultBackend: renderBackend(s.defaultBackend) } : {}),
    ...(s.rules.length > 0
      ? {
          rules: s.rules.map((r) => ({
            ...(r.host ? { host: r.host } : {}),
            ...(r.paths.length > 0
              ? {
                  http: {
                    paths: r.paths.map((p) => ({
                      path: p.path,
                      pathType: p.pathType,
                      backend: renderBackend(p.backend),
                    })),
                  },
                }
              : {}),
          })),
        }
      : {}),
    ...(s.tls.length > 0
      ? {
          tls: s.tls.map((t) => ({
            ...(t.hosts.length > 0 ? { hosts: t.hosts } : {}),
            ...(t.secretName ? { secretName: t.secretName } : {}),
          })),
        }
      : {}),
  };
}
