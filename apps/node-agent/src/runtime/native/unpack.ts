/**
 * Unpacking an image layer over the tree of the layers below it, as root on the node: node-tar
 * (which refuses `..`, absolute paths and extracting through symbolic links) for the entries,
 * and symbolic links, whiteouts and modes made and applied here — only where no symbolic link
 * is on the way, since an image's link (`etc -> /etc`) must never make the node write, remove or
 * chmod its own files.
 */
import { lchownSync, lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { chmod } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { extract } from "tar";

/**
 * Whether `rel` under `dir` is reached without following a symbolic link: every part on the way
 * (the last may be anything) is a directory, or missing from there on (to be made).
 */
export function direct(dir: string, rel: string): boolean {
  const parts = posix.dirname(rel).split("/");
  let at = dir;
  for (const part of parts) {
    if (part === "." || part === "") continue;
    if (part === "..") return false;
    at = join(at, part);
    try {
      if (!lstatSync(at).isDirectory()) return false;
    } catch {
      return true;
    }
  }
  return true;
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
  // Links are made here, after the layer's other entries: node-tar would make absolute targets
  // relative (`/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2` is one in every Debian image) and drop
  // those with `..` past the top, both of which are the image's business. They are resolved
  // inside the container's root when it runs (and by the shim's mounts, `in_root`).
  const links: { rel: string; target: string; uid?: number | undefined; gid?: number | undefined }[] = [];
  await extract({
    file,
    cwd: dir,
    preserveOwner: true,
    chmod: true,
    processUmask: 0,
    umask: 0,
    filter: (
      path: string,
      entry: { type?: string; mode?: number; linkpath?: string; uid?: number; gid?: number },
    ) => {
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
      if (entry.type === "SymbolicLink") {
        links.push({ rel: clean, target: entry.linkpath ?? "", uid: entry.uid, gid: entry.gid });
        return false;
      }
      if ((entry.type === "File" || entry.type === "Directory" || entry.type === "OldFile") && entry.mode)
        modes.push([clean, entry.mode & 0o7777]);
      return true;
    },
  });
  for (const link of links) {
    if (!link.target || !direct(dir, link.rel)) continue;
    const path = join(dir, link.rel);
    try {
      mkdirSync(dirname(path), { recursive: true });
      rmSync(path, { recursive: true, force: true });
      symlinkSync(link.target, path);
      if (link.uid !== undefined && link.gid !== undefined) lchownSync(path, link.uid, link.gid);
    } catch {
      // what cannot be made (a file where a directory should be) is left out, as node-tar does
    }
  }
  for (const [rel, mode] of modes) {
    // A later entry may have put a link there, or on the way: chmod would follow it.
    if (!direct(dir, rel) || isLink(join(dir, rel))) continue;
    await chmod(join(dir, rel), mode).catch(() => {});
  }
}
