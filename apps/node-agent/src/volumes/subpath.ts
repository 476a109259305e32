/**
 * `subPath` into a volume the pod's containers can write (an emptyDir), made safe as kubelet makes
 * it: a container may have replaced a path component with a symlink to anywhere on the node
 * (`ln -s / x`, then a container mounting `subPath: x` would get the node's root — CVE-2017-1002101).
 * So the path is opened without following a final symlink, the open file's real path is checked to
 * lie inside the volume, and that very file (`/proc/<agent>/fd/<n>`, not the path, which may change
 * meanwhile) is bind-mounted at a private place the container's mount is made from.
 */
import { constants } from "node:fs";
import { lstat, mkdir, open, readlink, realpath, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { bindMount, isMountPoint } from "./mounts";

const O_PATH = 0o10000000;

export class SubPathError extends Error {}

/**
 * Pins `volumeDir/subPath` at `pinAt` and returns it. A missing subPath is made as a directory;
 * one that is a symlink, or resolves outside the volume, is refused.
 */
export async function pinSubPath(
  volumeDir: string,
  subPath: string,
  pinAt: string,
  dirMode: number,
): Promise<string> {
  if (await isMountPoint(pinAt)) return pinAt;
  const root = await realpath(volumeDir);
  await makeInside(root, subPath, dirMode);
  const handle = await open(join(root, subPath), O_PATH | constants.O_NOFOLLOW).catch(
    (e: NodeJS.ErrnoException) => {
      throw new SubPathError(
        e.code === "ELOOP" ? `subPath ${subPath} is a symlink` : `subPath ${subPath} cannot be opened`,
      );
    },
  );
  try {
    const fdPath = `/proc/${process.pid}/fd/${handle.fd}`;
    const real = await readlink(fdPath);
    if (real !== root && !real.startsWith(`${root}/`))
      throw new SubPathError(`subPath ${subPath} resolves outside its volume`);
    const isDir = (await handle.stat()).isDirectory();
    if (isDir) await mkdir(pinAt, { recursive: true, mode: 0o750 });
    else {
      await mkdir(join(pinAt, ".."), { recursive: true, mode: 0o750 });
      await writeFile(pinAt, "", { flag: "a", mode: 0o600 });
    }
    await bindMount(fdPath, pinAt);
  } finally {
    await handle.close();
  }
  return pinAt;
}

/** Makes the missing directories of `rel` under `root`, refusing to walk through a symlink. */
async function makeInside(root: string, rel: string, mode: number): Promise<void> {
  let at = root;
  for (const part of rel.split("/")) {
    if (part === "" || part === "." || part === "..") throw new SubPathError(`invalid subPath ${rel}`);
    at = join(at, part);
    const s = await lstat(at).catch(() => null);
    if (s?.isSymbolicLink()) throw new SubPathError(`subPath ${rel} is a symlink`);
    if (s) continue;
    const made = await mkdir(at, { mode }).then(
      () => true,
      (e: NodeJS.ErrnoException) => {
        if (e.code !== "EEXIST") throw e;
        return false;
      },
    );
    if (!made) continue;
    // Through a handle opened without following links: the path may have been swapped meanwhile.
    const h = await open(at, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
      await h.chmod(mode);
    } finally {
      await h.close();
    }
  }
}
