/**
 * Makes the installable form of a workspace package: one bundled ES module (esbuild, every
 * dependency inside, so the package installs offline with nothing else), a package.json of its
 * own, and `npm pack`'s tarball. Used by the SDK's and the CLI's build scripts.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";

const exec = promisify(execFile);

export interface BundleOptions {
  entry: string;
  outfile: string;
  /** Lines before the module (a shebang for a bin). */
  banner?: string;
  /** Node-only (CommonJS dependencies need `require`), or any JavaScript runtime. */
  platform: "node" | "neutral";
}

/** One ES module for Node 20 or later, the same bytes for the same sources (no timestamps, no source map). */
export async function bundle(o: BundleOptions): Promise<void> {
  const requireShim =
    'import { createRequire as __berthRequire } from "node:module"; const require = __berthRequire(import.meta.url);';
  await build({
    entryPoints: [o.entry],
    outfile: o.outfile,
    bundle: true,
    platform: o.platform,
    format: "esm",
    target: "node20",
    legalComments: "none",
    // ws's optional native helpers: absent, it uses its JavaScript paths.
    external: ["bufferutil", "utf-8-validate"],
    ...(o.platform === "neutral" ? { mainFields: ["module", "main"] } : {}),
    banner: { js: [o.banner, o.platform === "node" ? requireShim : undefined].filter(Boolean).join("\n") },
    logLevel: "warning",
  });
}

/** A clean directory for the package's files. */
export async function freshDir(dir: string): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * The installable package's package.json and README: its name, the workspace package's version
 * and description, and `fields` (bin, exports…); ES modules for Node 20 or later.
 */
export async function describePackage(
  dir: string,
  source: string,
  name: string,
  fields: Record<string, unknown>,
): Promise<void> {
  const own = JSON.parse(await readFile(join(source, "package.json"), "utf8")) as {
    version: string;
    description: string;
  };
  await writeJson(join(dir, "package.json"), {
    name,
    version: own.version,
    description: own.description,
    type: "module",
    ...fields,
    engines: { node: ">=20" },
    license: "UNLICENSED",
  });
  await copyFile(join(source, "README.md"), join(dir, "README.md"));
}

/** `npm pack` of the directory into `dest`; returns the tarball's path. */
export async function pack(dir: string, dest: string): Promise<string> {
  await mkdir(dest, { recursive: true });
  const { stdout } = await exec("npm", ["pack", "--json", "--pack-destination", dest], { cwd: dir });
  const [info] = JSON.parse(stdout) as { filename: string }[];
  if (!info) throw new Error(`npm pack of ${dir} gave nothing`);
  return join(dest, info.filename);
}
