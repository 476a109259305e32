import { TRPCClientError } from "@trpc/client";

/** One field's problem in a VALIDATION_FAILED error. */
export interface Issue {
  /** The field, dotted: `spec.template.spec.containers.0.image`. */
  path: string;
  message: string;
}

/**
 * A failed call: the API's error code (`CLUSTER_NOT_FOUND`, `VALIDATION_FAILED`, `RATE_LIMITED`,
 * …), its HTTP status and request id, and for a VALIDATION_FAILED the fields at fault. A call that
 * never got an answer (the server unreachable) has code `NETWORK_ERROR` and status 0.
 */
export class BerthApiError extends Error {
  override readonly name = "BerthApiError";
  readonly code: string;
  readonly httpStatus: number;
  readonly requestId: string | undefined;
  readonly issues: Issue[];
  /** The procedure called, e.g. `clusters.create`. */
  readonly procedure: string;

  constructor(
    message: string,
    opts: {
      code: string;
      httpStatus: number;
      procedure: string;
      requestId?: string;
      issues?: Issue[];
      cause?: unknown;
    },
  ) {
    super(message, { cause: opts.cause });
    this.code = opts.code;
    this.httpStatus = opts.httpStatus;
    this.procedure = opts.procedure;
    this.requestId = opts.requestId;
    this.issues = opts.issues ?? [];
  }

  /** Worth trying again later: rate limited, or the service (or the network) briefly unavailable. */
  get retryable(): boolean {
    return this.httpStatus === 0 || this.httpStatus === 429 || this.httpStatus >= 502;
  }
}

/** The tRPC client's error as ours. */
export function toBerthApiError(error: unknown, procedure: string): unknown {
  if (!(error instanceof TRPCClientError)) return error;
  const data = error.data as
    | { code?: unknown; httpStatus?: unknown; requestId?: unknown; issues?: unknown }
    | null
    | undefined;
  if (typeof data?.code !== "string")
    return new BerthApiError(`cannot reach the Berth API: ${error.message}`, {
      code: "NETWORK_ERROR",
      httpStatus: 0,
      procedure,
      cause: error,
    });
  return new BerthApiError(error.message, {
    code: data.code,
    httpStatus: typeof data.httpStatus === "number" ? data.httpStatus : 500,
    procedure,
    ...(typeof data.requestId === "string" ? { requestId: data.requestId } : {}),
    ...(Array.isArray(data.issues) ? { issues: data.issues as Issue[] } : {}),
    cause: error,
  });
}

/** Berth's error code of a failed call (`CLUSTER_NOT_FOUND`, `VALIDATION_FAILED`, …), if it has one. */
export function errorCodeOf(error: unknown): string | undefined {
  return error instanceof BerthApiError ? error.code : undefined;
}
