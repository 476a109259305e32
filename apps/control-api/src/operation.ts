import type { z } from "zod";
import type { Caller, Deps, NodeCaller, UserCaller } from "./deps";

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
  /** IAM resource name the action is on: `brn:berth:<tenant>:cluster/<id>`. */
  readonly resource: (caller: CallerOf<A>, input: z.output<I>) => string;
  readonly successStatus: 200 | 201 | 202;
  /** When set, a REST request's body is passed as this input field rather than merged into the input. */
  readonly bodyAs?: string;
  readonly input: I;
  readonly run: (deps: Deps, caller: CallerOf<A>, input: z.output<I>) => Promise<O>;
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
