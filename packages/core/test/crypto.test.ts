import { describe, expect, it } from "vitest";
import { decryptSecret, encryptSecret, generateMasterKey, parseMasterKey } from "../src/crypto";
import { newId } from "../src/ids";

describe("envelope encryption of secrets at rest", () => {
  const master = parseMasterKey(generateMasterKey());

  it("round-trips a secret and never stores the plaintext", () => {
    const sealed = encryptSecret(master, "-----BEGIN PRIVATE KEY-----abc", "cluster-key:cl_1");
    expect(sealed).not.toContain("PRIVATE KEY");
    expect(decryptSecret(master, sealed, "cluster-key:cl_1")).toBe("-----BEGIN PRIVATE KEY-----abc");
  });

  it("refuses a ciphertext moved to another row (context is authenticated)", () => {
    const sealed = encryptSecret(master, "secret", "cluster-key:cl_1");
    expect(() => decryptSecret(master, sealed, "cluster-key:cl_2")).toThrow();
  });

  it("refuses another master key and a tampered envelope", () => {
    const sealed = encryptSecret(master, "secret", "ctx");
    expect(() => decryptSecret(parseMasterKey(generateMasterKey()), sealed, "ctx")).toThrow(/master key/);
    const parts = sealed.split(".");
    const body = Buffer.from(parts[3] ?? "", "base64url");
    body[body.length - 1] = (body[body.length - 1] ?? 0) ^ 1;
    parts[3] = body.toString("base64url");
    expect(() => decryptSecret(master, parts.join("."), "ctx")).toThrow();
  });

  it("rejects a master key of the wrong size", () => {
    expect(() => parseMasterKey(Buffer.alloc(16).toString("base64"))).toThrow(/32 bytes/);
  });
});

describe("ids", () => {
  it("are prefixed and sort by creation time", () => {
    const a = newId("cluster", 1_700_000_000_000);
    const b = newId("cluster", 1_700_000_000_001);
    expect(a).toMatch(/^cl_[0-9a-z]{26}$/);
    expect(a < b).toBe(true);
  });

  it("never repeat, across many pages of their pooled random bytes", () => {
    const ids = Array.from({ length: 2_000 }, () => newId("pod", 1_700_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    const letters = new Set(ids.flatMap((id) => [...id.slice(-16)]));
    expect(letters.size).toBe(32);
  });
});
