import "reflect-metadata";
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, webcrypto } from "node:crypto";
import { ValidationError } from "@berth/core";
import * as x509 from "@peculiar/x509";

/**
 * The crypto of a cluster's tunnel CA (no storage): ECDSA P-256 keys from Node's crypto,
 * certificates built by @peculiar/x509 over Node's WebCrypto. A CA signs only node certificates
 * (path length 0); a node certificate names its node in a SAN URI and is good for TLS client and
 * server authentication, and never outlives the CA that signed it.
 */
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING = { ...EC, hash: "SHA-256" } as const;
/** Clocks of nodes may be a little behind the control plane's. */
const SKEW_MS = 5 * 60_000;

export interface CaMaterial {
  certificatePem: string;
  /** PKCS#8, PEM: to be sealed before it is stored. */
  privateKeyPem: string;
  notBefore: Date;
  notAfter: Date;
}

/** Certificates hold whole seconds. */
const seconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);

/** A positive serial number of 128 random bits. */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}

const importPrivate = (pem: string) =>
  webcrypto.subtle.importKey(
    "pkcs8",
    createPrivateKey(pem).export({ type: "pkcs8", format: "der" }),
    EC,
    false,
    ["sign"],
  );
const importPublic = (der: Buffer) => webcrypto.subtle.importKey("spki", der, EC, true, ["verify"]);

/** A new CA for a cluster, valid from `now` for `lifetimeMs`. */
export async function createClusterCa(clusterId: string, now: Date, lifetimeMs: number): Promise<CaMaterial> {
  const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const privateKeyPem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const keys = {
    privateKey: await importPrivate(privateKeyPem),
    publicKey: await importPublic(pair.publicKey.export({ type: "spki", format: "der" })),
  };
  const notBefore = seconds(now.getTime() - SKEW_MS);
  const notAfter = seconds(now.getTime() + lifetimeMs);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=Berth tunnel CA ${clusterId} ${now.toISOString().slice(0, 10)}, O=Berth`,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificatePem: cert.toString("pem"), privateKeyPem, notBefore, notAfter };
}

/**
 * A node's public key as sent (SPKI, PEM): it must be an ECDSA P-256 key, else a 400 naming
 * `publicKey`. Returns its DER.
 */
export function parseNodePublicKey(pem: string): Buffer {
  const refuse = (why: string) =>
    new ValidationError(`publicKey: ${why}`, [{ path: "publicKey", message: why }]);
  let key: ReturnType<typeof createPublicKey>;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch {
    throw refuse("is not a public key in PEM (SPKI)");
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1")
    throw refuse("must be an ECDSA P-256 key");
  return key.export({ type: "spki", format: "der" });
}

/** A certificate for a node's key, signed by `ca`, naming `identity`, valid `lifetimeMs` (capped at the CA's end). */
export async function issueNodeCertificate(opts: {
  ca: { certificatePem: string; privateKeyPem: string };
  publicKeySpki: Buffer;
  identity: string;
  nodeName: string;
  now: Date;
  lifetimeMs: number;
}): Promise<{ certificatePem: string; notAfter: Date }> {
  const ca = new x509.X509Certificate(opts.ca.certificatePem);
  const publicKey = await importPublic(opts.publicKeySpki);
  const notAfter = seconds(Math.min(opts.now.getTime() + opts.lifetimeMs, ca.notAfter.getTime()));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${opts.nodeName.replace(/[^A-Za-z0-9.-]/g, "-")}, O=Berth`,
    issuer: ca.subject,
    notBefore: seconds(Math.max(opts.now.getTime() - SKEW_MS, ca.notBefore.getTime())),
    notAfter,
    publicKey,
    signingKey: await importPrivate(opts.ca.privateKeyPem),
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: opts.identity }], false),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
    ],
  });
  return { certificatePem: cert.toString("pem"), notAfter };
}
