import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A certificate and its key, PEM, made by `openssl` for the given DNS names. */
export interface Pem {
  crt: string;
  key: string;
}

const openssl = (dir: string, args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });

/**
 * A self-signed certificate for `hosts` (the first is its CN). `expired`: valid for one day in
 * 2020 only (signed through `openssl ca`, the one command of OpenSSL 3.0 that takes both dates).
 */
export function selfSigned(hosts: string[], opts: { expired?: boolean } = {}): Pem {
  const dir = mkdtempSync(join(tmpdir(), "berth-tls-"));
  try {
    const san = `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(",")}`;
    const subj = `/CN=${hosts[0]}`;
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "key.pem"];
    if (!opts.expired) {
      openssl(dir, ["req", "-x509", ...ec, "-out", "crt.pem", "-days", "30", "-subj", subj, "-addext", san]);
    } else {
      writeFileSync(join(dir, "index.txt"), "");
      writeFileSync(join(dir, "serial"), "01\n");
      writeFileSync(
        join(dir, "ca.cnf"),
        "[ca]\ndefault_ca=c\n[c]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\ncopy_extensions=copy\nunique_subject=no\n[p]\ncommonName=supplied\n",
      );
      openssl(dir, ["req", "-new", ...ec, "-out", "req.csr", "-subj", subj, "-addext", san]);
      openssl(dir, [
        "ca",
        "-batch",
        "-config",
        "ca.cnf",
        "-selfsign",
        "-keyfile",
        "key.pem",
        "-in",
        "req.csr",
        "-out",
        "crt.pem",
        "-startdate",
        "20200101000000Z",
        "-enddate",
        "20200102000000Z",
        "-notext",
      ]);
    }
    return {
      crt: readFileSync(join(dir, "crt.pem"), "utf8"),
      key: readFileSync(join(dir, "key.pem"), "utf8"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A `kubernetes.io/tls` Secret, as `kubectl create secret tls` writes it. */
export const tlsSecret = (name: string, pem: Pem) => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name },
  type: "kubernetes.io/tls",
  data: {
    "tls.crt": Buffer.from(pem.crt).toString("base64"),
    "tls.key": Buffer.from(pem.key).toString("base64"),
  },
});

/** An Ingress with one rule per `host → service` (path `/`, Prefix, port 80), TLS for `tls` hosts from `secret`. */
export function ingress(
  name: string,
  rules: { host: string; paths?: { path: string; pathType: string; service: string }[]; service?: string }[],
  tls?: { hosts: string[]; secretName: string },
) {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name },
    spec: {
      rules: rules.map((r) => ({
        host: r.host,
        http: {
          paths: (r.paths ?? [{ path: "/", pathType: "Prefix", service: r.service ?? "web" }]).map((p) => ({
            path: p.path,
            pathType: p.pathType,
            backend: { service: { name: p.service, port: { number: 80 } } },
          })),
        },
      })),
      ...(tls ? { tls: [tls] } : {}),
    },
  };
}
