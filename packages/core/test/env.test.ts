import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { generateMasterKey } from "../src/crypto";
import { parseServerEnv, serverEnvShape } from "../src/env";

const schema = z.object(serverEnvShape);
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("the master key", () => {
  it("is required unless development is said explicitly (an unset NODE_ENV is not development)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-env-"));
    dirs.push(dir);
    expect(() => parseServerEnv(schema, { BERTH_DATA_DIR: dir })).toThrow(/BERTH_MASTER_KEY: required/);
    expect(() => parseServerEnv(schema, { BERTH_DATA_DIR: dir, NODE_ENV: "development" })).toThrow(
      /BERTH_MASTER_KEY/,
    );
  });

  it("is generated once and kept under the data directory with BERTH_DEV=1", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-env-"));
    dirs.push(dir);
    const first = parseServerEnv(schema, { BERTH_DATA_DIR: dir, BERTH_DEV: "1" });
    const second = parseServerEnv(schema, { BERTH_DATA_DIR: dir, BERTH_DEV: "1" });
    expect(first.BERTH_MASTER_KEY).toBe(second.BERTH_MASTER_KEY);
    expect((await readFile(join(dir, "master.key"), "utf8")).trim()).toBe(first.BERTH_MASTER_KEY);
  });

  it("is taken as given", () => {
    const key = generateMasterKey();
    expect(parseServerEnv(schema, { BERTH_MASTER_KEY: key }).BERTH_MASTER_KEY).toBe(key);
  });
});
