/**
 * `npm run build -w @berth/cli [-- --pack]`: the CLI as users install it, in dist/package — one
 * compiled JavaScript module, `berth.mjs`, with every dependency inside (commander, yaml, ws, the
 * SDK …), run by Node 20 or later; `--pack` also makes the npm tarball in dist/
 * (`npm install -g ./berth-cli-<version>.tgz` gives a `berth` command).
 */
import { chmod, copyFile, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { bundle, freshDir, pack, writeJson } from "@berth/sdk/packaging";

const CLI = resolve(import.meta.dirname, "..");

export async function buildCli(opts: { pack?: boolean } = {}): Promise<{ dir: string; tarball?: string }> {
  const dist = join(CLI, "dist");
  const dir = await freshDir(join(dist, "package"));
  await bundle({
    entry: join(CLI, "src/bin.ts"),
    outfile: join(dir, "berth.mjs"),
    banner: "#!/usr/bin/env node",
    platform: "node",
  });
  await chmod(join(dir, "berth.mjs"), 0o755);
  const own = JSON.parse(await readFile(join(CLI, "package.json"), "utf8")) as {
    version: string;
    description: string;
  };
  await writeJson(join(dir, "package.json"), {
    name: "@berth/cli",
    version: own.version,
    description: own.description,
    type: "module",
    bin: { berth: "berth.mjs" },
    engines: { node: ">=20" },
    license: "UNLICENSED",
  });
  await copyFile(join(CLI, "README.md"), join(dir, "README.md"));
  return { dir, ...(opts.pack ? { tarball: await pack(dir, dist) } : {}) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const built = await buildCli({ pack: process.argv.includes("--pack") });
  console.log(built.tarball ?? built.dir);
}
