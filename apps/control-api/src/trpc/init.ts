import { BerthError, type ErrorCode } from "@berth/core";
import { initTRPC, TRPCError } from "@trpc/server";
import type { z } from "zod";
import { authenticate } from "../auth/authenticate";
import type { Deps } from "../deps";
import { toBerthError } from "../http/errors";
import type { CallerOf, Operation } from "../operation";

export interface TrpcContext {
  deps: Deps;
  requestId: string;
  authorization: string | undefined;
}

type TrpcCode = TRPCError["code"];

/** tRPC's code for each of ours; exhaustive, like httpStatusOf. */
export function trpcCodeOf(code: ErrorCode): TrpcCode {
  switch (code) {
    case "VALIDATION_FAILED":
      return "BAD_REQUEST";
    case "UNSUPPORTED_MEDIA_TYPE":
      return "UNSUPPORTED_MEDIA_TYPE";
    case "PAYLOAD_TOO_LARGE":
      return "PAYLOAD_TOO_LARGE";
    case "UNAUTHENTICATED":
      return "UNAUTHORIZED";
    case "FORBIDDEN":
      return "FORBIDDEN";
    case "NOT_FOUND":
    case "ROUTE_NOT_FOUND":
      return "NOT_FOUND";
    case "CONFLICT":
    case "EMAIL_TAKEN":
    case "TENANT_NAME_TAKEN":
    case "CLUSTER_NOT_ACTIVE":
      return "CONFLICT";
    case "QUOTA_EXCEEDED":
    case "RATE_LIMITED":
      return "TOO_MANY_REQUESTS";
    case "UNAVAILABLE":
      return "SERVICE_UNAVAILABLE";
    case "INTERNAL":
      return "INTERNAL_SERVER_ERROR";
    default: {
      const unmapped: never = code;
      throw new Error(`unmapped error code ${String(unmapped)}`);
    }
  }
}

const t = initTRPC.context<TrpcContext>().create({
  isDev: false,
  errorFormatter({ shape, error, ctx }) {
    const berth = toBerthError(error.cause ?? error);
    if (berth.code === "INTERNAL")
      ctx?.deps.logger.error({ err: error, requestId: ctx.requestId }, "unhandled error");
    return {
      message: berth.message,
      code: shape.code,
      data: {
        code: berth.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        requestId: ctx?.requestId ?? "",
        ...(berth.details.issues ? { issues: berth.details.issues } : {}),
      },
    };
  },
});

/** Our errors become tRPC errors of the matching code; `next()` does not throw, so look at its result. */
const errors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const berth = toBerthError(result.error.cause ?? result.error);
    if (
      result.error.code === "BAD_REQUEST" &&
      !(result.error.cause instanceof BerthError) &&
      berth.code === "INTERNAL"
    )
      return result;
    throw new TRPCError({ code: trpcCodeOf(berth.code), message: berth.message, cause: berth });
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
const base = t.procedure.use(errors);

function withCaller<A extends "public" | "user" | "node">(kind: A) {
  return base.use(async ({ ctx, next }) => {
    const caller = (await authenticate(ctx.deps, kind, ctx.authorization)) as CallerOf<A>;
    return next({ ctx: { caller } });
  });
}

/** A query procedure running an operation of the catalog. */
export function query<A extends "public" | "user" | "node", I extends z.ZodType, O>(op: Operation<A, I, O>) {
  return withCaller(op.auth)
    .input(op.input)
    .query(({ ctx, input }) => op.run(ctx.deps, ctx.caller, input as z.output<I>));
}

/** A mutation procedure running an operation of the catalog. */
export function mutation<A extends "public" | "user" | "node", I extends z.ZodType, O>(
  op: Operation<A, I, O>,
) {
  return withCaller(op.auth)
    .input(op.input)
    .mutation(({ ctx, input }) => op.run(ctx.deps, ctx.caller, input as z.output<I>));
}
