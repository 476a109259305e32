import { errorCodeOf } from "@berth/sdk";

/**
 * Exit codes: 0 ok, 1 an error (the API's or the CLI's), 2 a usage error (unknown command or
 * flag, a missing argument). `berth diff` follows `kubectl diff`: 1 means differences were found,
 * and its errors exit 3 so that a script can tell the two apart.
 */
export const EXIT = { ok: 0, error: 1, usage: 2, differences: 1, diffError: 3 } as const;

/** An error the CLI reports in one line and exits with; `code` is the API's error code, if any. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.error,
    readonly code?: string,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = "UsageError";
  }
}

/**
 * Why a fetch failed (`ECONNREFUSED`, `ENOTFOUND`, "bad port"), when the error is one: the code, or
 * the message, of the innermost cause under a "fetch failed".
 */
function networkCauseOf(error: unknown): string | undefined {
  let fetchFailed = false;
  let why: string | undefined;
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return code;
    if (e.message === "fetch failed") fetchFailed = true;
    else if (fetchFailed) why = e.message;
  }
  return fetchFailed ? (why ?? "fetch failed") : undefined;
}

/** One line for any error: `error: CODE: message`, never a stack. */
export function errorLine(error: unknown): string {
  const code = error instanceof CliError ? error.code : errorCodeOf(error);
  const network = !code || code === "NETWORK_ERROR" ? networkCauseOf(error) : undefined;
  const message = error instanceof Error ? error.message : String(error);
  if (network) {
    // The SDK's NETWORK_ERROR says "cannot reach" itself; its cause is what failed.
    const what =
      code && error instanceof Error && error.cause instanceof Error ? error.cause.message : message;
    return `error: cannot reach the Berth API (${network}): ${what}`;
  }
  return `error: ${code ? `${code}: ` : ""}${message.split("\n")[0]}`;
}
