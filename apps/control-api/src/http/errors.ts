import { BerthError, type ErrorCode, httpStatusOf } from "@berth/core";
import { z } from "zod";

export interface ErrorEnvelope {
  error: {
    code: ErrorCode;
    message: string;
    requestId: string;
    issues?: readonly { path: string; message: string }[];
  };
}

/** The errors behind an error: its `cause` chain, the error itself first (bounded, cycles cut). */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e && chain.length < 8 && !chain.includes(e); e = (e as { cause?: unknown }).cause)
    chain.push(e);
  return chain;
}

// What Postgres, postgres.js and ioredis say when they cannot be reached or are going away.
const OUTAGE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EPIPE",
  "EHOSTUNREACH",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "53300", // too_many_connections
  "40001", // serialization_failure: retrying helps
  "40P01", // deadlock_detected: likewise
]);
const OUTAGE_MESSAGES =
  /Connection is closed|Stream isn't writeable|max retries per request|Reached the max retries|Command timed out/i;

/**
 * Failures of a dependency rather than of the request: a Postgres or Redis that cannot be reached
 * (503 UNAVAILABLE, retry later), Postgres refusing a value (a data exception: 400, the request's
 * fault), a unique key taken by a concurrent request (409). Null for anything else.
 */
function dependencyError(error: unknown): BerthError | null {
  for (const e of causes(error)) {
    if (typeof e !== "object" || e === null) continue;
    const { code, name, message } = e as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof code === "string" && (OUTAGE_CODES.has(code) || code.startsWith("08")))
      return new BerthError("UNAVAILABLE", "a backing service is unavailable; retry shortly", {
        retryable: true,
        details: { retryAfterSeconds: 5 },
        cause: error,
      });
    if (
      name === "MaxRetriesPerRequestError" ||
      (typeof message === "string" && OUTAGE_MESSAGES.test(message))
    )
      return new BerthError("UNAVAILABLE", "a backing service is unavailable; retry shortly", {
        retryable: true,
        details: { retryAfterSeconds: 5 },
        cause: error,
      });
    if (typeof code === "string" && code.startsWith("22"))
      return new BerthError("VALIDATION_FAILED", "a value of the request is out of range or malformed", {
        cause: error,
      });
    if (code === "23505")
      return new BerthError("CONFLICT", "a concurrent request created the same object; read it again", {
        cause: error,
      });
  }
  return null;
}

/**
 * Anything thrown becomes a BerthError: ours as they are, zod's as VALIDATION_FAILED, a dependency's
 * failure as UNAVAILABLE (or the 4xx it really is), the rest INTERNAL.
 */
export function toBerthError(error: unknown): BerthError {
  if (error instanceof BerthError) return error;
  if (error instanceof z.ZodError) {
    const issues = error.issues
      .slice(0, 20)
      .map((i) => ({ path: i.path.map(String).join(".") || "(body)", message: i.message }));
    const first = issues[0];
    return new BerthError("VALIDATION_FAILED", first ? `${first.path}: ${first.message}` : "invalid input", {
      details: { issues },
    });
  }
  return dependencyError(error) ?? new BerthError("INTERNAL", "internal error", { cause: error });
}

/** The one error envelope; never a stack trace, never an internal message. */
export function envelope(error: BerthError, requestId: string): { status: number; body: ErrorEnvelope } {
  return {
    status: httpStatusOf(error.code),
    body: {
      error: {
        code: error.code,
        message: error.message,
        requestId,
        ...(error.details.issues ? { issues: error.details.issues } : {}),
      },
    },
  };
}
