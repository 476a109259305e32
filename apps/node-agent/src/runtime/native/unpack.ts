/**
 * Unpacking an image layer over the tree of the layers below it, as root on the node: node-tar
 * (which refuses `..`, absolute paths and extracting through symbolic links) for the entries,
 * and whiteouts and modes applied here — only where no symbolic link is on the way, since an
 * image's link (`etc -> /etc`) must never make the node remove or chmod its own files.
 */
import { lstatSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { chmod } from "node:fs/promises";
import { join, posix } from "node:path";
import { extract } from "tar";

/** Whether `rel` under `dir` is reached without following a symbolic link (the last part may be one). */
function direct(dir: string, rel: string): boolean {
  const parent = posix.dirname(rel);
  try {
    const root = realpathSync(dir);
    return parent === "." || realpathSync(join(dir, parent)) === join(root, parent);
  } catch {
    return false;
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return true; // gone: nothing to do either
  }
}

/**
 * Unpacks one layer (tar, gzip or not) over the tree: `.wh.<name>` removes `<name>` of the layers
 * below, `.wh..wh..opq` empties its directory of what the layers below put there.
 */
export async function unpackLayer(file: string, dir: string): Promise<void> {
  const seen = new Set<string>();
  // node-tar creates what it extracts under the process umask: modes are set again after.
  const modes: [string, number][] = [];
  await extract({
    file,
    cwd: dir,
    preserveOwner: true,
    chmod: true,
    processUmask: 0,
    umask: 0,
    filter: (path: string, entry: { type?: string; mode?: number }) => {
      const clean = posix
        .normalize(path)
        .replace(/^(\.\/|\/)+/, "")
        .replace(/\/$/, "");
      if (clean === ".." || clean.startsWith("../")) return false;
      const base = posix.basename(clean);
      const parent = posix.dirname(clean);
      if (base === ".wh..wh..opq") {
        // The directory itself must be reached directly, and be no link.
        if (parent !== "." && (!direct(dir, parent) || isLink(join(dir, parent)))) return false;
        let names: string[] = [];
        try {
          names = readdirSync(join(dir, parent));
        } catch {
          names = [];
        }
        for (const name of names) {
          const rel = parent === "." ? name : `${parent}/${name}`;
          if (!seen.has(rel)) rmSync(join(dir, rel), { recursive: true, force: true });
        }
        return false;
      }
      if (base.startsWith(".wh.")) {
        const rel = parent === "." ? base.slice(4) : `${parent}/${base.slice(4)}`;
        // rm of a link removes the link; a link on the way there would lead out of the tree.
        if (direct(dir, rel)) rmSync(join(dir, rel), { recursive: true, force: true });
        return false;
      }
      for (let p = clean; p !== "." && p !== ""; p = posix.dirname(p)) seen.add(p);
      if ((entry.type === "File" || entry.type === "Directory" || entry.type === "OldFile") && entry.mode)
        modes.push([clean, entry.mode & 0o7777]);
      return true;
    },
  });
  for (const [rel, mode] of modes) {
    // A later entry may have put a link there, or on the way: chmod would follow it.
    if (!direct(dir, rel) || isLink(join(dir, rel))) continue;
    await chmod(join(dir, rel), mode).catch(() => {});
  }
}
