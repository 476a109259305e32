import { createTRPCUntypedClient, httpLink } from "@trpc/client";
import { BerthApiError, toBerthApiError } from "./errors";
import type { Procedures } from "./procedures";

/** Options of one call. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** The typed client of a tree of procedures: `client.clusters.create.mutate(input)`. */
export type ClientOf<T> = {
  [K in keyof T]: T[K] extends { kind: "query"; input: infer I; output: infer O }
    ? { query(input: I, opts?: CallOptions): Promise<O> }
    : T[K] extends { kind: "mutation"; input: infer I; output: infer O }
      ? { mutate(input: I, opts?: CallOptions): Promise<O> }
      : ClientOf<T[K]>;
};
type Field<T, F extends "input" | "output"> = {
  [K in keyof T]: T[K] extends { kind: "query" | "mutation"; input: infer I; output: infer O }
    ? F extends "input"
      ? I
      : O
    : Field<T[K], F>;
};
/** Every procedure's input, e.g. `Inputs["clusters"]["create"]`. */
export type Inputs = Field<Procedures, "input">;
/** Every procedure's reply, e.g. `Outputs["clusters"]["get"]`. */
export type Outputs = Field<Procedures, "output">;
export type BerthClient = ClientOf<Procedures>;

export interface ClientOptions {
  /** The control API, e.g. http://127.0.0.1:8080 */
  url: string;
  /** An access token (or a function giving one before each call); omit for sign-up and login. */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  /** An API key (`brk_ak_…`): exchanged for access tokens, renewed before they expire. */
  apiKey?: string;
  /** Retries of a query that failed for want of the service (network, 429, 502–504); default 3. Mutations are not retried. */
  retries?: number;
  /** The first back-off, doubled each retry (with jitter), at most 5 s; default 250 ms. */
  retryDelayMs?: number;
  fetch?: typeof globalThis.fetch;
}

/** Renew an access token this long before it expires. */
const RENEW_MARGIN_MS = 60_000;
const MAX_BACKOFF_MS = 5_000;

/** Access tokens of an API key: exchanged once, renewed when about to expire or refused. */
class KeyTokens {
  private current: { token: string; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly apiKey: string,
    private readonly exchange: (apiKey: string) => Promise<{ accessToken: string; expiresIn: number }>,
  ) {}

  get(): Promise<string> {
    if (this.current && this.current.expiresAt - RENEW_MARGIN_MS > Date.now())
      return Promise.resolve(this.current.token);
    this.pending ??= this.exchange(this.apiKey)
      .then((issued) => {
        this.current = { token: issued.accessToken, expiresAt: Date.now() + issued.expiresIn * 1000 };
        return issued.accessToken;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  /** The API refused the token (revoked, or the signing keys rotated): the next call gets a new one. */
  forget(token: string): void {
    if (this.current?.token === token) this.current = undefined;
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

/**
 * The typed Berth client: `client.clusters.create.mutate({ name })`,
 * `client.pods.list.query({ clusterId })`. Failures are `BerthApiError`s carrying the API's code.
 */
export function createClient(opts: ClientOptions): BerthClient {
  const base = opts.url.replace(/\/$/, "");
  const retries = opts.retries ?? 3;
  const firstDelay = opts.retryDelayMs ?? 250;
  // The call's access token travels in its context: obtaining it happens before tRPC, so that its
  // failure (a refused API key, a caller's own token function) is thrown as it is.
  const api = createTRPCUntypedClient({
    links: [
      httpLink({
        url: `${base}/trpc`,
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
        headers({ op }) {
          const token = (op.context as { token?: string }).token;
          return token ? { authorization: `Bearer ${token}` } : {};
        },
      }),
    ],
  });
  const keyTokens = opts.apiKey
    ? new KeyTokens(opts.apiKey, async (apiKey) => {
        try {
          return (await api.mutation("auth.token", { apiKey })) as { accessToken: string; expiresIn: number };
        } catch (error) {
          throw toBerthApiError(error, "auth.token");
        }
      })
    : undefined;
  const tokenOf = async () =>
    keyTokens ? await keyTokens.get() : typeof opts.token === "function" ? await opts.token() : opts.token;

  async function call(path: string, kind: "query" | "mutation", input: unknown, o: CallOptions = {}) {
    let renewed = false;
    for (let attempt = 0; ; attempt++) {
      const token = await tokenOf();
      const callOpts = { signal: o.signal, context: { token } };
      try {
        return await (kind === "query"
          ? api.query(path, input, callOpts)
          : api.mutation(path, input, callOpts));
      } catch (raw) {
        const error = toBerthApiError(raw, path);
        if (!(error instanceof BerthApiError)) throw error;
        if (error.code === "UNAUTHENTICATED" && keyTokens && token && !renewed) {
          // The token may have been revoked or its key rotated: one more try with a new one.
          keyTokens.forget(token);
          renewed = true;
          continue;
        }
        if (kind === "mutation" || !error.retryable || attempt >= retries || o.signal?.aborted) throw error;
        const ceiling = Math.min(MAX_BACKOFF_MS, firstDelay * 2 ** attempt);
        await sleep(ceiling / 2 + Math.random() * (ceiling / 2), o.signal);
      }
    }
  }
  return procedureProxy(call) as BerthClient;
}

type Call = (
  path: string,
  kind: "query" | "mutation",
  input: unknown,
  opts?: CallOptions,
) => Promise<unknown>;

/** `client.a.b.query(input)` → `call("a.b", "query", input)`. */
function procedureProxy(call: Call, path: readonly string[] = []): unknown {
  return new Proxy(() => undefined, {
    get(_target, key) {
      // Not a thenable, and nothing else a caller might probe for.
      if (typeof key !== "string" || key === "then") return undefined;
      return procedureProxy(call, [...path, key]);
    },
    apply(_target, _this, args: unknown[]) {
      const verb = path.at(-1);
      if (path.length < 2 || (verb !== "query" && verb !== "mutate"))
        throw new TypeError(`${path.join(".")} is not a call: end with .query(input) or .mutate(input)`);
      return call(
        path.slice(0, -1).join("."),
        verb === "query" ? "query" : "mutation",
        args[0],
        args[1] as CallOptions,
      );
    },
  });
}
