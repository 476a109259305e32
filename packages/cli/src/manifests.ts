import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { CliError, UsageError } from "./errors";
import { readStdin } from "./prompt";
import type { Io } from "./runtime";

const MANIFEST_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** The files of `-f`: a file as given, a directory's .yaml/.yml/.json files (with `-R`, its subdirectories' too). */
async function filesOf(path: string, recursive: boolean): Promise<string[]> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch {
    throw new CliError(`the path "${path}" does not exist`);
  }
  if (!info.isDirectory()) return [path];
  const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const files: string[] = [];
  for (const e of entries) {
    const full = join(path, e.name);
    if (e.isDirectory()) {
      if (recursive) files.push(...(await filesOf(full, true)));
    } else if (MANIFEST_EXTENSIONS.has(extname(e.name))) files.push(full);
  }
  return files;
}

/**
 * Everything `-f` names (files, directories, `-` for stdin) as one YAML stream, documents in the
 * order given (a directory's files by name), as `kubectl apply -f` reads them. JSON is YAML too.
 */
export async function readManifests(io: Io, paths: readonly string[], recursive = false): Promise<string> {
  if (paths.length === 0) throw new UsageError("-f is required: a file, a directory or - for stdin");
  const texts: string[] = [];
  for (const path of paths) {
    if (path === "-") {
      texts.push(await readStdin(io));
      continue;
    }
    const files = await filesOf(path, recursive);
    if (files.length === 0) throw new CliError(`no manifests (.yaml, .yml, .json) in ${path}`);
    for (const file of files) texts.push(await readFile(file, "utf8"));
  }
  const stream = texts.filter((t) => t.trim() !== "").join("\n---\n");
  if (stream === "") throw new CliError("no objects passed to apply");
  return stream;
}
