/**
 * `npm run build -w @berth/cli [-- --pack]`: the CLI as users install it, in dist/package — one
 * compiled JavaScript module, `berth.mjs`, with every dependency inside (commander, yaml, ws, the
 * SDK …), run by Node 20 or later; `--pack` also makes the npm tarball in dist/
 * (`npm install -g ./berth-cli-<version>.tgz` gives a `berth` command).
 */
import { chmod } from "node:fs/promises";
import { join, resolve } from "node:path";
import { bundle, describePackage, freshDir, pack } from "@berth/sdk/packaging";

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
  await describePackage(dir, CLI, "@berth/cli", { bin: { berth: "berth.mjs" } });
  return { dir, ...(opts.pack ? { tarball: await pack(dir, dist) } : {}) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const built = await buildCli({ pack: process.argv.includes("--pack") });
  console.log(built.tarball ?? built.dir);
}
