import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { invalid } from "./common";

/** A `kubernetes.io/tls` Secret's certificate, parsed: what the gateway serves and checks hosts against. */
export interface TlsCertificate {
  cert: X509Certificate;
  key: KeyObject;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/**
 * Admission of a `kubernetes.io/tls` Secret's values (base64, as stored): `tls.crt` is a PEM X.509
 * certificate (the first of a chain is the server's), `tls.key` a PEM private key that matches it,
 * and the certificate has not expired at `now`. A ValidationError names `data[tls.crt]` or
 * `data[tls.key]`, as Kubernetes' messages name a Secret's keys.
 */
export function checkTlsSecretData(data: Record<string, string>, now: Date): TlsCertificate {
  const crtPath = "data[tls.crt]";
  const keyPath = "data[tls.key]";
  const crtText = Buffer.from(data["tls.crt"] ?? "", "base64").toString("utf8");
  const first = PEM_CERT.exec(crtText)?.[0];
  if (!first) invalid(crtPath, "must be a PEM-encoded X.509 certificate (-----BEGIN CERTIFICATE-----)");
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(first);
  } catch (error) {
    invalid(crtPath, `cannot be parsed as an X.509 certificate: ${(error as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(Buffer.from(data["tls.key"] ?? "", "base64"));
  } catch {
    invalid(keyPath, "must be a PEM-encoded private key (PKCS#1, PKCS#8 or SEC1)");
  }
  if (!cert.checkPrivateKey(key))
    invalid(keyPath, "the private key does not match the certificate in tls.crt");
  const notAfter = new Date(cert.validTo);
  if (notAfter.getTime() <= now.getTime())
    invalid(crtPath, `the certificate expired at ${notAfter.toISOString()} (notAfter)`);
  return { cert, key };
}

/** Does a certificate cover a host (its subjectAltName DNS names, wildcards as TLS matches them)? */
export function certificateCovers(cert: X509Certificate, host: string): boolean {
  if (host.startsWith("*.")) {
    // A wildcard rule host is covered by the same wildcard in the certificate.
    const sans = (cert.subjectAltName ?? "").split(/,\s*/).map((s) => s.replace(/^DNS:/, "").toLowerCase());
    return sans.includes(host);
  }
  return cert.checkHost(host, { wildcards: true, partialWildcards: false }) !== undefined;
}
