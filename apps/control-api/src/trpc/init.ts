import { assertSafeInput, BerthError, type ErrorCode, httpStatusOf, ValidationError } from "@berth/core";
import { initTRPC, TRPCError } from "@trpc/server";
import type { z } from "zod";
import { authenticate } from "../auth/authenticate";
import type { Caller, Deps } from "../deps";
import { toBerthError } from "../http/errors";
import { enterForeground } from "../http/foreground";
import { auditOutcome, authorizeAndRun, type Scratch } from "../http/pipeline";
import type { AnyOperation, AuthKind, CallerOf, Operation, RequestMeta } from "../operation";

export interface TrpcContext {
  deps: Deps;
  requestId: string;
  /** Request facts for one call; its audit scratch receives what the call learns. */
  metaFor: (scratch: Scratch) => RequestMeta;
}

type TrpcCode = TRPCError["code"];

/** tRPC's code for each of ours; exhaustive, like httpStatusOf. */
export function trpcCodeOf(code: ErrorCode): TrpcCode {
  switch (code) {
    case "VALIDATION_FAILED":
      return "BAD_REQUEST";
    case "UNSUPPORTED_ACCESS_MODE":
      return "UNPROCESSABLE_CONTENT";
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
    case "METHOD_NOT_ALLOWED":
      return "METHOD_NOT_SUPPORTED";
    case "CONFLICT":
    case "EMAIL_TAKEN":
    case "TENANT_NAME_TAKEN":
    case "CLUSTER_NOT_ACTIVE":
    case "AGENT_VERSION_UNSUPPORTED":
    case "HOST_CLAIMED":
      return "CONFLICT";
    case "QUOTA_EXCEEDED":
    case "RATE_LIMITED":
      return "TOO_MANY_REQUESTS";
    case "UNAVAILABLE":
    case "NODE_UNAVAILABLE":
      return "SERVICE_UNAVAILABLE";
    case "NODE_TIMEOUT":
      return "GATEWAY_TIMEOUT";
    case "INTERNAL":
      return "INTERNAL_SERVER_ERROR";
    default: {
      const unmapped: never = code;
      throw new Error(`unmapped error code ${String(unmapped)}`);
    }
  }
}

/** What tRPC itself refuses (no such procedure, wrong method, bad batch), in our codes. */
const TRPC_OWN: Partial<Record<TrpcCode, ErrorCode>> = {
  NOT_FOUND: "ROUTE_NOT_FOUND",
  METHOD_NOT_SUPPORTED: "METHOD_NOT_ALLOWED",
  UNSUPPORTED_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  PARSE_ERROR: "VALIDATION_FAILED",
  BAD_REQUEST: "VALIDATION_FAILED",
};

/** Ours as they came (a procedure's BerthError is the cause), else tRPC's own refusal mapped, else INTERNAL. */
export function fromTrpcError(error: TRPCError): BerthError {
  const fromCause = error.cause ? toBerthError(error.cause) : null;
  if (fromCause && fromCause.code !== "INTERNAL") return fromCause;
  const own = TRPC_OWN[error.code];
  if (own) return new BerthError(own, error.message.slice(0, 200));
  return fromCause ?? toBerthError(error);
}

/** A procedure's meta: the catalog operation it runs (the API-surface test matches them by it). */
export interface OperationMeta {
  operationId: string;
}

const t = initTRPC
  .context<TrpcContext>()
  .meta<OperationMeta>()
  .create({
    isDev: false,
    errorFormatter({ shape, error, ctx }) {
      const berth = fromTrpcError(error);
      if (berth.code === "INTERNAL")
        ctx?.deps.logger.error({ err: error, requestId: ctx.requestId }, "unhandled error");
      else if (berth.code === "UNAVAILABLE")
        ctx?.deps.logger.warn(
          { err: berth.cause ?? error, requestId: ctx.requestId },
          "a backing service failed the request",
        );
      return {
        message: berth.message,
        code: shape.code,
        data: {
          code: berth.code,
          httpStatus: httpStatusOf(berth.code),
          path: shape.data.path,
          requestId: ctx?.requestId ?? "",
          ...(berth.details.issues ? { issues: berth.details.issues } : {}),
        },
      };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * The procedure of one operation: the same pipeline as REST (authenticate → validate → authorise →
 * run → audit). Our errors become tRPC errors of the matching code; `next()` does not throw, so
 * the outcome is read from its result.
 */
function procedureFor<A extends AuthKind, I extends z.ZodType, O>(op: Operation<A, I, O>) {
  return t.procedure
    .meta({ operationId: op.id })
    .use(async ({ ctx, next }) => {
      const scratch: Scratch = { leaveForeground: enterForeground() };
      const meta = ctx.metaFor(scratch);
      const result = await next({ ctx: { scratch, meta } }).finally(() => scratch.leaveForeground?.());
      if (result.ok) {
        await auditOutcome(ctx.deps, op as unknown as AnyOperation, meta, scratch, null, op.successStatus);
        return result;
      }
      const berth = toBerthError(result.error.cause ?? result.error);
      await auditOutcome(
        ctx.deps,
        op as unknown as AnyOperation,
        meta,
        scratch,
        berth,
        httpStatusOf(berth.code),
      );
      throw new TRPCError({ code: trpcCodeOf(berth.code), message: berth.message, cause: berth });
    })
    .use(async ({ ctx, next, getRawInput }) => {
      const caller = await authenticate(ctx.deps, op.auth, ctx.meta.authorization, ctx.meta.sourceIp);
      ctx.scratch.caller = caller;
      const raw = await getRawInput().catch(() => {
        throw new ValidationError("the input is not valid JSON");
      });
      assertSafeInput(raw);
      return next({ ctx: { caller: caller as CallerOf<A> } });
    })
    .input(op.input);
}

type Resolver<O> = (opts: {
  ctx: TrpcContext & { scratch: Scratch; meta: RequestMeta; caller: Caller };
  input: unknown;
}) => Promise<O>;

function resolver<A extends AuthKind, I extends z.ZodType, O>(op: Operation<A, I, O>): Resolver<O> {
  return ({ ctx, input }) =>
    authorizeAndRun(
      ctx.deps,
      op as unknown as AnyOperation,
      ctx.caller,
      input,
      ctx.meta,
      ctx.scratch,
    ) as Promise<O>;
}

/** A query procedure running an operation of the catalog. */
export function query<A extends AuthKind, I extends z.ZodType, O>(op: Operation<A, I, O>) {
  return procedureFor(op).query(resolver(op));
}

/** A mutation procedure running an operation of the catalog. */
export function mutation<A extends AuthKind, I extends z.ZodType, O>(op: Operation<A, I, O>) {
  return procedureFor(op).mutation(resolver(op));
}
