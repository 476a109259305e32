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

/** Anything thrown becomes a BerthError: ours as they are, zod's as VALIDATION_FAILED, the rest INTERNAL. */
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
  return new BerthError("INTERNAL", "internal error", { cause: error });
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
