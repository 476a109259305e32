import type { AppRouter } from "@berth/control-api/router";
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";

export type { AppRouter };
export type Inputs = inferRouterInputs<AppRouter>;
export type Outputs = inferRouterOutputs<AppRouter>;

export interface ClientOptions {
  /** The control API, e.g. http://127.0.0.1:8080 */
  url: string;
  /** An access token from `auth.token` (or a function giving one before each call); omit for sign-up and login. */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  fetch?: typeof globalThis.fetch;
}

/** The typed Berth client: `client.clusters.create.mutate({ name })`, `client.pods.list.query({ clusterId })`. */
export function createClient(opts: ClientOptions) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${opts.url.replace(/\/$/, "")}/trpc`,
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
        async headers() {
          const token = typeof opts.token === "function" ? await opts.token() : opts.token;
          return token ? { authorization: `Bearer ${token}` } : {};
        },
      }),
    ],
  });
}
export type BerthClient = ReturnType<typeof createClient>;

/** Berth's error code of a failed call (`CLUSTER_NOT_FOUND`, `VALIDATION_FAILED`, …), if it has one. */
export function errorCodeOf(error: unknown): string | undefined {
  if (!(error instanceof TRPCClientError)) return undefined;
  const data = error.data as { code?: unknown } | undefined;
  return typeof data?.code === "string" ? data.code : undefined;
}
