import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { diskSerialOf } from "@berth/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diskBySerial, hasExtFilesystem, mountClaimDisk } from "./claim-disk";
import { isMountPoint, unmount } from "./mounts";

/** A claim's disk as the agent handles it, on a real (loop-mounted) disk image and a real mount. */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "claim-disk-"));
});
afterAll(async () => {
  const point = join(dir, "mnt");
  if (await isMountPoint(point)) await unmount(point);
  await rm(dir, { recursive: true, force: true });
});

describe("a claim's disk on the node", () => {
  it("is found by its serial among the node's block devices", async () => {
    const sys = join(dir, "sys-block");
    for (const [name, serial] of [
      ["vda", ""],
      ["vdd", diskSerialOf("obj_01m91c44fyswvy2yvkqd2x0226")],
    ] as const) {
      await mkdir(join(sys, name), { recursive: true });
      await writeFile(join(sys, name, "serial"), `${serial}\n`);
    }
    expect(await diskBySerial("01m91c44fyswvy2yvkqd2x0226".slice(-20), sys)).toBe("/dev/vdd");
    expect(await diskBySerial("nothing-attached", sys)).toBeNull();
  });

  it("gets a file system the first time only: what the first pod wrote is there for the next", async () => {
    const disk = join(dir, "disk.img");
    const point = join(dir, "mnt");
    await writeFile(disk, "");
    await truncate(disk, 32 * 1024 * 1024);
    await mkdir(point);
    expect(await hasExtFilesystem(disk)).toBe(false);
    expect(await mountClaimDisk(disk, point)).toEqual({ mounted: true, formatted: true });
    expect(await mountClaimDisk(disk, point)).toEqual({ mounted: false, formatted: false });
    await writeFile(join(point, "kept"), "written by the first pod");
    await unmount(point);
    expect(await hasExtFilesystem(disk)).toBe(true);
    expect(await mountClaimDisk(disk, point)).toEqual({ mounted: true, formatted: false });
    expect(await readFile(join(point, "kept"), "utf8")).toBe("written by the first pod");
    await unmount(point);
  });
});
