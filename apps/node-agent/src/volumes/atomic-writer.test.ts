import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isSafeVolumePath, writeAtomically } from "./atomic-writer";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-atomic-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});
const file = (path: string, text: string, mode = 0o644) => ({ path, data: Buffer.from(text), mode });

describe("volume files written as kubelet's AtomicWriter writes them", () => {
  it("lays out a version directory, ..data pointing at it, and a link per top-level key", async () => {
    expect(
      await writeAtomically(
        dir,
        [file("greeting", "hello"), file("conf/app.yaml", "a: 1", 0o600)],
        undefined,
      ),
    ).toBe(true);
    const version = await readlink(join(dir, "..data"));
    expect(version).toMatch(/^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d{9}$/);
    expect(await readlink(join(dir, "greeting"))).toBe("..data/greeting");
    expect(await readlink(join(dir, "conf"))).toBe("..data/conf");
    expect(await readFile(join(dir, "conf/app.yaml"), "utf8")).toBe("a: 1");
    expect((await stat(join(dir, version, "conf/app.yaml"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, version, "greeting"))).mode & 0o777).toBe(0o644);
  });

  it("swaps in a new version, drops keys that went and the old version, and does nothing when unchanged", async () => {
    await writeAtomically(dir, [file("greeting", "hello"), file("old", "x")], undefined);
    const first = await readlink(join(dir, "..data"));
    expect(await writeAtomically(dir, [file("greeting", "hello"), file("old", "x")], undefined)).toBe(false);
    expect(await writeAtomically(dir, [file("greeting", "bonjour")], undefined)).toBe(true);
    const second = await readlink(join(dir, "..data"));
    expect(second).not.toBe(first);
    expect(await readFile(join(dir, "greeting"), "utf8")).toBe("bonjour");
    expect((await readdir(dir)).sort()).toEqual(["..data", second, "greeting"].sort());
    expect(await lstat(join(dir, "old")).catch(() => null)).toBeNull();
  });

  it("gives an fsGroup's volume to the group, group-readable", async () => {
    await writeAtomically(dir, [file("secret", "s", 0o400)], 2000);
    const s = await stat(join(dir, "secret"));
    expect([s.gid, s.mode & 0o777]).toEqual([2000, 0o440]);
  });

  it("refuses paths that could leave the volume", async () => {
    for (const p of ["/etc/passwd", "../x", "a/../../x", "..data", "a//b", ""])
      expect(isSafeVolumePath(p)).toBe(false);
    expect(isSafeVolumePath("a/b.c")).toBe(true);
    await expect(writeAtomically(dir, [file("../escape", "x")], undefined)).rejects.toThrow(
      /invalid file path/,
    );
  });
});
