import { type BerthClient, createClient } from "@berth/sdk";
import { type Config, type Context, loadConfig, saveConfig, selectContext, setContext } from "./config";
import type { CliEnv } from "./env";
import { CliError, UsageError } from "./errors";

/** Where a command writes; the real streams, or a test's. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
}

/** The options every command takes (`--context`, `--cluster`, `-n`). */
export interface GlobalOptions {
  context?: string;
  cluster?: string;
  namespace?: string;
}

/** Refresh the access token this long before it expires. */
const REFRESH_MARGIN_MS = 60_000;

/**
 * What commands share: the config file, the selected context, an authenticated client that
 * refreshes its access token (from the refresh token or API key) before it expires, and the
 * cluster and namespace to work in.
 */
export class Runtime {
  private refreshing: Promise<string> | undefined;
  private clusterIdCache: Promise<string> | undefined;
  globals: GlobalOptions = {};
  /** The global options as given on the command line (before the context's defaults fill them). */
  given: GlobalOptions = {};
  /** What the process exits with when the command ends without an error (`berth diff`: 1 = differences). */
  exitCode = 0;
  /** `berth diff` runs: its errors exit 3, as 1 means "differences". */
  diffMode = false;

  constructor(
    readonly env: CliEnv,
    readonly io: Io,
  ) {}

  print(text: string): void {
    this.io.stdout.write(text.endsWith("\n") || text === "" ? text : `${text}\n`);
  }

  /** Progress and notes go to stderr, so that stdout stays the command's output. */
  note(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }

  config(): Promise<Config> {
    return loadConfig(this.env.configPath);
  }

  saveConfig(config: Config): Promise<void> {
    return saveConfig(this.env.configPath, config);
  }

  async context(): Promise<Context> {
    return selectContext(await this.config(), this.globals.context);
  }

  /** A client without credentials (sign-up, login). */
  anonymous(server: string): BerthClient {
    return createClient({ url: server });
  }

  /** The context's client; every call carries a fresh access token. */
  async client(): Promise<BerthClient> {
    const context = await this.context();
    return createClient({ url: context.server, token: () => this.accessToken() });
  }

  /** The context's access token, refreshed (and saved) when it is about to expire. */
  accessToken(): Promise<string> {
    this.refreshing ??= this.freshAccessToken().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async freshAccessToken(): Promise<string> {
    const context = await this.context();
    const c = context.credentials ?? {};
    const expires = c.accessTokenExpiresAt ? Date.parse(c.accessTokenExpiresAt) : 0;
    if (c.accessToken && expires - REFRESH_MARGIN_MS > Date.now()) return c.accessToken;
    const anonymous = this.anonymous(context.server);
    let issued: { accessToken: string; expiresIn: number; refreshToken?: string };
    try {
      if (c.refreshToken) issued = await anonymous.auth.refresh.mutate({ refreshToken: c.refreshToken });
      else if (c.apiKey) issued = await anonymous.auth.token.mutate({ apiKey: c.apiKey });
      else throw new CliError(`not logged in to context "${context.name}": run \`berth login\``);
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError(
        `the session of context "${context.name}" cannot be renewed (${(error as Error).message}): run \`berth login\``,
        1,
        "UNAUTHENTICATED",
      );
    }
    const credentials = {
      ...c,
      accessToken: issued.accessToken,
      accessTokenExpiresAt: new Date(Date.now() + issued.expiresIn * 1000).toISOString(),
      ...(issued.refreshToken ? { refreshToken: issued.refreshToken } : {}),
    };
    await this.saveConfig(setContext(await this.config(), context.name, { credentials }).config);
    return issued.accessToken;
  }

  namespace(): string {
    return this.globals.namespace ?? "default";
  }

  /** The cluster to work in: `--cluster` or the context's, by id (`cl_…`) or by name. */
  clusterId(): Promise<string> {
    this.clusterIdCache ??= this.resolveCluster();
    return this.clusterIdCache;
  }

  private async resolveCluster(): Promise<string> {
    const wanted = this.globals.cluster ?? (await this.context()).cluster;
    if (!wanted)
      throw new UsageError(
        "no cluster: give --cluster <name|id> or `berth config set-context --cluster <name>`",
      );
    if (/^cl_[0-9a-z]{26}$/.test(wanted)) return wanted;
    const client = await this.client();
    for (let cursor: string | undefined; ; ) {
      const page = await client.clusters.list.query({ limit: 500, ...(cursor ? { cursor } : {}) });
      const found = page.items.find((c) => c.name === wanted && c.status !== "deleted");
      if (found) return found.id;
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    throw new CliError(`cluster "${wanted}" not found`, 1, "NOT_FOUND");
  }

  /** A REST call of the context's server (for what tRPC does not carry: log streams), errors mapped. */
  async rest(path: string, init: RequestInit = {}): Promise<Response> {
    const context = await this.context();
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${await this.accessToken()}`);
    const res = await fetch(`${context.server.replace(/\/$/, "")}${path}`, { ...init, headers });
    if (res.ok) return res;
    const text = await res.text();
    let envelope: { error?: { code?: string; message?: string } } = {};
    try {
      envelope = JSON.parse(text);
    } catch {}
    throw new CliError(envelope.error?.message ?? `HTTP ${res.status}`, 1, envelope.error?.code);
  }
}
