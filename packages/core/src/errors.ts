/**
 * The closed list of error codes Berth can return. Domain code throws these; one mapping at each
 * edge (HTTP, tRPC, BullMQ) turns them into transport errors. Adding a code fails to compile
 * until every edge maps it (see `httpStatusOf`).
 */
export const ERROR_CODES = [
  "VALIDATION_FAILED",
  /** A PersistentVolumeClaim asks for an access mode its storage cannot give (only ReadWriteOnce). */
  "UNSUPPORTED_ACCESS_MODE",
  "UNSUPPORTED_MEDIA_TYPE",
  "PAYLOAD_TOO_LARGE",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "ROUTE_NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "CONFLICT",
  "EMAIL_TAKEN",
  "TENANT_NAME_TAKEN",
  "CLUSTER_NOT_ACTIVE",
  "AGENT_VERSION_UNSUPPORTED",
  "HOST_CLAIMED",
  "QUOTA_EXCEEDED",
  "RATE_LIMITED",
  "UNAVAILABLE",
  "NODE_UNAVAILABLE",
  "NODE_TIMEOUT",
  "INTERNAL",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorDetails {
  readonly issues?: readonly { path: string; message: string }[];
  readonly retryAfterSeconds?: number;
}

export class BerthError extends Error {
  readonly code: ErrorCode;
  /** Whether the same call may succeed later without the caller changing anything. */
  readonly retryable: boolean;
  readonly details: ErrorDetails;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { retryable?: boolean; details?: ErrorDetails; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details ?? {};
  }
}

export class ValidationError extends BerthError {
  constructor(message: string, issues: { path: string; message: string }[] = []) {
    super("VALIDATION_FAILED", message, { details: { issues } });
  }
}

export class NotFoundError extends BerthError {
  constructor(kind: string, id: string) {
    super("NOT_FOUND", `${kind} ${JSON.stringify(id)} was not found`);
  }
}

export class ConflictError extends BerthError {
  constructor(
    message: string,
    code:
      | "CONFLICT"
      | "EMAIL_TAKEN"
      | "TENANT_NAME_TAKEN"
      | "CLUSTER_NOT_ACTIVE"
      | "AGENT_VERSION_UNSUPPORTED"
      | "HOST_CLAIMED" = "CONFLICT",
  ) {
    super(code, message);
  }
}

export class UnauthenticatedError extends BerthError {
  constructor(message = "missing or invalid credentials") {
    super("UNAUTHENTICATED", message);
  }
}

export class ForbiddenError extends BerthError {
  constructor(message = "you are not allowed to do that") {
    super("FORBIDDEN", message);
  }
}

export class QuotaExceededError extends BerthError {
  constructor(message: string) {
    super("QUOTA_EXCEEDED", message);
  }
}

export class UnavailableError extends BerthError {
  constructor(message: string, cause?: unknown) {
    super("UNAVAILABLE", message, { retryable: true, cause });
  }
}

/** HTTP status for each code; exhaustive, so a new code must be mapped here. */
export function httpStatusOf(
  code: ErrorCode,
): 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 429 | 500 | 503 | 504 {
  switch (code) {
    case "VALIDATION_FAILED":
      return 400;
    case "UNSUPPORTED_ACCESS_MODE":
      return 422;
    case "UNAUTHENTICATED":
      return 401;
    case "FORBIDDEN":
      return 403;
    case "NOT_FOUND":
    case "ROUTE_NOT_FOUND":
      return 404;
    case "METHOD_NOT_ALLOWED":
      return 405;
    case "CONFLICT":
    case "EMAIL_TAKEN":
    case "TENANT_NAME_TAKEN":
    case "CLUSTER_NOT_ACTIVE":
    case "AGENT_VERSION_UNSUPPORTED":
    case "HOST_CLAIMED":
      return 409;
    case "PAYLOAD_TOO_LARGE":
      return 413;
    case "UNSUPPORTED_MEDIA_TYPE":
      return 415;
    case "QUOTA_EXCEEDED":
    case "RATE_LIMITED":
      return 429;
    case "UNAVAILABLE":
    case "NODE_UNAVAILABLE":
      return 503;
    case "NODE_TIMEOUT":
      return 504;
    case "INTERNAL":
      return 500;
    default: {
      const unmapped: never = code;
      throw new Error(`unmapped error code ${String(unmapped)}`);
    }
  }
}
