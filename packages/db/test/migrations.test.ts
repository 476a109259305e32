import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { MIGRATIONS_FOLDER, runMigrations } from "../src/migrate";
import { testServerUrl } from "../src/testing";

interface Journal {
  entries: { idx: number; when: number; tag: string }[];
}
const journal = (): Journal =>
  JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta/_journal.json"), "utf8")) as Journal;

const database = `berth_upgrade_${process.pid}`;
const admin = postgres(testServerUrl(), { max: 1, onnotice: () => {} });
const dir = mkdtempSync(join(tmpdir(), "berth-migrations-"));
afterAll(async () => {
  await admin.unsafe(`drop database if exists "${database}" with (force)`);
  await admin.end({ timeout: 5 });
  rmSync(dir, { recursive: true, force: true });
});

describe("migrations", () => {
  it("are dated in order: drizzle applies to a migrated database only those dated after its last", () => {
    // 0028 is dated before 0027 (written alongside it) and stays so: a database migrated while
    // 0028 was the newest would apply it again if it were dated anew. Every later one is in order.
    const entries = journal().entries.filter((e) => e.idx >= 28);
    for (let i = 1; i < entries.length; i++)
      expect(entries[i]?.when, entries[i]?.tag).toBeGreaterThan(entries[i - 1]?.when ?? 0);
  });

  it("bring a database migrated before the newest migration existed up to date", async () => {
    const full = journal();
    cpSync(MIGRATIONS_FOLDER, dir, { recursive: true });
    writeFileSync(
      join(dir, "meta/_journal.json"),
      JSON.stringify({ ...full, entries: full.entries.slice(0, -1) }),
    );
    await admin.unsafe(`drop database if exists "${database}" with (force)`);
    await admin.unsafe(`create database "${database}"`);
    const url = new URL(testServerUrl());
    url.pathname = `/${database}`;
    await runMigrations(url.toString(), dir);
    await runMigrations(url.toString());
    const db = postgres(url.toString(), { max: 1, onnotice: () => {} });
    try {
      const [applied] = await db<
        { n: number }[]
      >`select count(*)::int as n from drizzle.__drizzle_migrations`;
      expect(applied?.n).toBe(full.entries.length);
    } finally {
      await db.end({ timeout: 5 });
    }
  });
});
