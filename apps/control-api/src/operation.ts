import type { WebSocket } from "ws";
import type { z } from "zod";
import type { PrincipalType } from "./auth/access-tokens";
import type { Caller, Deps, NodeCaller, UserCaller } from "./deps";

/** What the transport knows of a request; the same for REST and tRPC. */
export interface RequestMeta {
  readonly requestId: string;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly secureTransport: boolean;
  readonly authorization: string | undefined;
  /** Aborted when the client goes away (a long poll stops waiting). */
  readonly signal: AbortSignal | undefined;
  /** Ties an anonymous call to the account it concerns, for the audit log (e.g. a failed login). */
  readonly attribute: (who: { tenantId: string; principalId: string; principalType: PrincipalType }) => void;
  /** The request asks for a WebSocket and the server can accept one (see http/upgrade.ts). */
  readonly upgrade: boolean;
}

/** What a `transport: "stream"` operation returns: a body sent as it is produced. */
export interface StreamReply {
  readonly contentType: string;
  readonly body: ReadableStream<Uint8Array>;
}

/** What a `transport: "websocket"` operation returns: what to do with the accepted socket. */
export interface SocketReply {
  attach(socket: WebSocket): void;
  /** Headers the handshake's 101 response carries besides the WebSocket's own. */
  headers?: Record<string, string>;
  /** The upgrade did not happen after all (the client left meanwhile): undo what `run` began. */
  abandon(): Promise<void> | void;
}

export type AuthKind = "public" | "user" | "node";
export type CallerOf<A extends AuthKind> = A extends "user"
  ? UserCaller
  : A extends "node"
    ? NodeCaller
    : Caller;
export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * One operation of the API, declared once: how it is reached over REST, who may call it, the IAM
 * action and resource it is authorised as, its input schema and the service function that runs it.
 * The REST routes, the tRPC router and the OpenAPI document are all built from these.
 */
export interface Operation<A extends AuthKind, I extends z.ZodType, O> {
  readonly id: string;
  readonly summary: string;
  readonly method: HttpMethod;
  /** Hono path syntax: `/v1/clusters/:clusterId`. */
  readonly path: string;
  readonly auth: A;
  /** IAM action, `service:Verb`. */
  readonly action: string;
  /**
   * IAM resource name the action is on: `brn:berth:<tenant>:cluster/<id>`. May read the database
   * (through `deps`) when the name depends on the object, e.g. the principal an API key belongs to.
   */
  readonly resource: (caller: CallerOf<A>, input: z.output<I>, deps: Deps) => string | Promise<string>;
  readonly successStatus: 200 | 201 | 202;
  /** When set, a REST request's body is passed as this input field rather than merged into the input. */
  readonly bodyAs?: string;
  /**
   * REST only: the body is passed unparsed, as text, in `bodyAs`, and its Content-Type as
   * `format` ("yaml" or "json"), for operations that read several documents (apply).
   */
  readonly rawBody?: boolean;
  /**
   * The body's schema for the OpenAPI document when the input field `bodyAs` is validated later
   * than at the edge (a manifest, parsed by its kind's schema so that errors name its fields).
   */
  readonly bodySchema?: z.ZodType;
  /** REST only: query parameters a write takes besides its body (`?dryRun=true`). */
  readonly queryParams?: readonly string[];
  readonly input: I;
  /**
   * The schema of the JSON reply (what `run` returns, as JSON): the OpenAPI document's response,
   * and — where `checkReplies` is on, as in every test — checked against each reply, so that it
   * cannot drift from what the service returns. Streams and WebSockets have none.
   */
  readonly output?: z.ZodType;
  readonly run: (deps: Deps, caller: CallerOf<A>, input: z.output<I>, request: RequestMeta) => Promise<O>;
  /**
   * "policy" (the default): IAM must allow `action` on `resource`. "authenticated": any active
   * principal may call it (like STS GetCallerIdentity); say why where it is used.
   */
  readonly authorization?: "policy" | "authenticated";
  /** Rate-limit units of a call (default: 1, or one per 50 rows a list may read; see costOf). */
  readonly cost?: (input: z.output<I>) => number;
  /** Audit every call ("always", the default for writes), only failures ("failures", default for reads). */
  readonly audit?: "always" | "failures";
  /**
   * How a REST call is answered: JSON (the default; also served over tRPC), a body streamed as
   * it is produced (`run` returns a StreamReply), or a WebSocket (`run` returns a SocketReply,
   * the request must ask for an upgrade). Streams and WebSockets are REST only.
   */
  readonly transport?: "json" | "stream" | "websocket";
  /** What the audit record keeps of the input besides action and resource (e.g. an exec's command). */
  readonly auditDetails?: (input: z.output<I>) => Record<string, unknown>;
  /**
   * A long poll: the call waits (up to its `waitMs`) for something to happen. It leaves the
   * foreground once authorised (http/foreground.ts), so that waiting agents never slow the
   * slices of large lists.
   */
  readonly longPoll?: boolean;
  /**
   * REST only: a tenant's API key is taken as the bearer itself, besides access tokens — for
   * scrapers that cannot exchange a key for a token (Prometheus' `authorization.credentials`).
   */
  readonly apiKeyBearer?: boolean;
  /** REST only: a representation other than JSON (e.g. CSV), or undefined for JSON. */
  readonly render?: (value: O, input: z.output<I>) => { contentType: string; body: string } | undefined;
}

// biome-ignore lint/suspicious/noExplicitAny: a list of operations of any input and output
export type AnyOperation = Operation<AuthKind, z.ZodType, any>;

export function defineOperation<A extends AuthKind, I extends z.ZodType, O>(
  op: Operation<A, I, O>,
): Operation<A, I, O> {
  return op;
}

export const brn = (tenantId: string, path = ""): string => `brn:berth:${tenantId}:${path}`;
export const clusterBrn = (tenantId: string, clusterId: string): string =>
  brn(tenantId, `cluster/${clusterId}`);

/** A principal's path in resource names: `user/<id>` or `service-account/<id>` (`*` when unknown). */
export const principalPath = (principalId: string | undefined): string =>
  principalId?.startsWith("usr_")
    ? `user/${principalId}`
    : principalId?.startsWith("sa_")
      ? `service-account/${principalId}`
      : "*";
