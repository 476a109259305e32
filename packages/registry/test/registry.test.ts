import { createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  formatScope,
  libtrustKeyId,
  loadRegistrySigningKey,
  parseChallenge,
  parseScope,
  signRegistryToken,
  splitRepository,
} from "../src/index";

const pem = () =>
  generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({
    type: "pkcs8",
    format: "pem",
  }) as string;

describe("scopes", () => {
  it("parses Distribution's scope strings, the name between the first and the last colon", () => {
    expect(parseScope("repository:ten_x/web:pull,push")).toEqual({
      type: "repository",
      name: "ten_x/web",
      actions: ["pull", "push"],
    });
    expect(parseScope("registry:catalog:*")).toEqual({ type: "registry", name: "catalog", actions: ["*"] });
    expect(parseScope("repository(plugin):a/b:pull,pull")?.actions).toEqual(["pull"]);
    expect(parseScope("repository:localhost:5000/a/b:pull")?.name).toBe("localhost:5000/a/b");
    for (const bad of ["", "pull", "repository:pull", ":a/b:pull", "Repo:a/b:pull", "repository::pull"])
      expect(parseScope(bad)).toBeNull();
    expect(formatScope({ type: "repository", name: "a/b", actions: ["pull", "push"] })).toBe(
      "repository:a/b:pull,push",
    );
  });

  it("splits repository names into namespace and path, refusing names off the grammar", () => {
    expect(splitRepository("ten_01abc/web")).toEqual({ namespace: "ten_01abc", path: "web" });
    expect(splitRepository("library/demo-web/x")).toEqual({ namespace: "library", path: "demo-web/x" });
    for (const bad of ["web", "Ten/web", "a//b", "a/b/", "../a", "a/b:c", `a/${"x".repeat(260)}`])
      expect(splitRepository(bad)).toBeNull();
  });
});

describe("challenges", () => {
  it("reads Bearer and Basic challenges with quoted and bare parameters", () => {
    expect(
      parseChallenge(
        'Bearer realm="http://api/v1/registry/token",service="berth-registry",scope="repository:a/b:pull"',
      ),
    ).toEqual({
      scheme: "bearer",
      params: {
        realm: "http://api/v1/registry/token",
        service: "berth-registry",
        scope: "repository:a/b:pull",
      },
    });
    expect(parseChallenge('Basic realm="x \\"y\\""')).toEqual({
      scheme: "basic",
      params: { realm: 'x "y"' },
    });
    expect(parseChallenge("Bearer error=insufficient_scope")?.params.error).toBe("insufficient_scope");
    expect(parseChallenge(null)).toBeNull();
    expect(parseChallenge("")).toBeNull();
  });
});

describe("tokens", () => {
  it("names the key by libtrust's fingerprint: 12 groups of 4 base32 characters, the same for its public half", () => {
    const key = loadRegistrySigningKey(pem());
    expect(key.kid).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    expect(libtrustKeyId(createPublicKey(key.privateKey))).toBe(key.kid);
    expect(loadRegistrySigningKey(pem()).kid).not.toBe(key.kid);
  });

  it("refuses keys the registry cannot verify as ES256", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
      type: "pkcs8",
      format: "pem",
    }) as string;
    expect(() => loadRegistrySigningKey(rsa)).toThrow(/EC P-256/);
    const p384 = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey.export({
      type: "pkcs8",
      format: "pem",
    }) as string;
    expect(() => loadRegistrySigningKey(p384)).toThrow(/EC P-256/);
  });

  it("signs compact ES256 JWTs with the registry's claims, verifiable with the public key", () => {
    const key = loadRegistrySigningKey(pem());
    const now = new Date("2026-01-02T03:04:05Z");
    const access = [{ type: "repository", name: "ten_x/web", actions: ["pull"] }];
    const t = signRegistryToken(key, {
      issuer: "berth",
      service: "reg",
      subject: "usr_1",
      access,
      ttlSeconds: 300,
      now,
    });
    const [h, c, s] = t.token.split(".") as [string, string, string];
    expect(JSON.parse(Buffer.from(h, "base64url").toString())).toEqual({
      typ: "JWT",
      alg: "ES256",
      kid: key.kid,
    });
    const claims = JSON.parse(Buffer.from(c, "base64url").toString());
    expect(claims).toMatchObject({ iss: "berth", aud: "reg", sub: "usr_1", access });
    expect(claims.exp - claims.iat).toBe(300);
    expect(claims.iat).toBe(now.getTime() / 1000);
    const ok = verify(
      "sha256",
      Buffer.from(`${h}.${c}`),
      {
        key: createPublicKey(key.privateKey),
        dsaEncoding: "ieee-p1363",
      },
      Buffer.from(s, "base64url"),
    );
    expect(ok).toBe(true);
    expect(t.expiresIn).toBe(300);
  });
});
