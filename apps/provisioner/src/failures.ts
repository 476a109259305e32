/**
 * How the provisioner tells a failure that may pass (retry) from one that will not (a visible
 * failed state), and how it words a failure for a tenant to read.
 */

/**
 * An error is permanent when it says so: Berth's errors (`BerthError`, the scheduler's input
 * error, a provider's refusal) carry `retryable`. Anything else — a lost connection, a lock
 * timeout, a bug — is assumed to be worth another try.
 */
export function isPermanent(error: unknown): boolean {
  return (
    typeof error === "object" && error !== null && (error as { retryable?: unknown }).retryable === false
  );
}

/**
 * The message of an error as a tenant may read it, at most `max` characters. Drizzle wraps a
 * database error as "Failed query: <statement> params: <values>"; the database's own words (its
 * cause) say what went wrong without repeating the statement.
 */
export function failureMessage(error: unknown, max = 500): string {
  let e: unknown = error;
  while (e instanceof Error && e.message.startsWith("Failed query:") && e.cause !== undefined) e = e.cause;
  const text = e instanceof Error ? e.message : String(e);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
