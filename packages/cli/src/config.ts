import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { parse, stringify } from "yaml";
import { z } from "zod";
import { CliError, UsageError } from "./errors";

/**
 * The config file (`~/.config/berth/config.yaml`, mode 0600): named contexts, each a server, the
 * credentials to reach it with (a refresh token from `berth login`, or an API key; the access
 * token they give is kept until it expires) and the default cluster and namespace.
 */
const credentialsSchema = z
  .object({
    refreshToken: z.string().optional(),
    apiKey: z.string().optional(),
    accessToken: z.string().optional(),
    /** ISO time the cached access token expires. */
    accessTokenExpiresAt: z.string().optional(),
    email: z.string().optional(),
  })
  .strict();

const contextSchema = z
  .object({
    name: z.string().min(1),
    server: z.string().url(),
    cluster: z.string().optional(),
    namespace: z.string().optional(),
    credentials: credentialsSchema.optional(),
  })
  .strict();

const configSchema = z
  .object({
    currentContext: z.string().optional(),
    contexts: z.array(contextSchema).default([]),
  })
  .strict();

export type Credentials = z.infer<typeof credentialsSchema>;
export type Context = z.infer<typeof contextSchema>;
export type Config = z.infer<typeof configSchema>;

export const DEFAULT_SERVER = "http://127.0.0.1:8080";

export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { contexts: [] };
    throw new CliError(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  const parsed = configSchema.safeParse(parse(text) ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError(`the config file ${path} is not valid: ${issue?.path.join(".")}: ${issue?.message}`);
  }
  return parsed.data;
}

/** Writes the file readable by its owner only (it holds credentials), atomically. */
export async function saveConfig(path: string, config: Config): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, stringify(configSchema.parse(config)), { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

/** The context to use: `--context`, else the current one. */
export function selectContext(config: Config, name?: string): Context {
  const wanted = name ?? config.currentContext;
  if (!wanted) throw new CliError("no context: run `berth login --server <url>` first");
  const context = config.contexts.find((c) => c.name === wanted);
  if (!context) throw new CliError(`context "${wanted}" does not exist (see \`berth config get-contexts\`)`);
  return context;
}

/** Creates or changes a context; fields given as `""` are removed. */
export function setContext(
  config: Config,
  name: string,
  patch: Partial<Omit<Context, "name">>,
): { config: Config; context: Context } {
  const existing = config.contexts.find((c) => c.name === name);
  const merged: Record<string, unknown> = { server: DEFAULT_SERVER, ...existing, ...patch, name };
  for (const [k, v] of Object.entries(merged)) if (v === "" || v === undefined) delete merged[k];
  const parsed = contextSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`context "${name}": ${issue?.path.join(".")}: ${issue?.message}`);
  }
  const contexts = existing
    ? config.contexts.map((c) => (c.name === name ? parsed.data : c))
    : [...config.contexts, parsed.data];
  return { config: { ...config, contexts }, context: parsed.data };
}

export function useContext(config: Config, name: string): Config {
  if (!config.contexts.some((c) => c.name === name))
    throw new CliError(`context "${name}" does not exist (see \`berth config get-contexts\`)`);
  return { ...config, currentContext: name };
}

/** A context's name from its server: `127.0.0.1:8080`. */
export function contextNameOf(server: string): string {
  try {
    return new URL(server).host;
  } catch {
    throw new UsageError(`--server: not a URL: ${server}`);
  }
}
