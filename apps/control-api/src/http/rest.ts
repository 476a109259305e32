import { assertSafeInput, httpStatusOf, ValidationError } from "@berth/core";
import type { Context, Hono } from "hono";
import { authenticate } from "../auth/authenticate";
import type { Deps } from "../deps";
import type { AnyOperation, SocketReply, StreamReply } from "../operation";
import { operations } from "../operations";
import { readBody, readRawBody } from "./body";
import type { AppEnv } from "./context";
import { toBerthError } from "./errors";
import { enterForeground } from "./foreground";
import { isLongPage, pageStream } from "./list-body";
import { auditOutcome, authorizeAndRun, costOf, type Scratch } from "./pipeline";
import { requestMetaOf } from "./request-meta";
import { upgradeOf } from "./upgrade";

/** The query string; a parameter given more than once is a list (`?command=sh&command=-c`). */
function queryOf(c: Context): Record<string, string | string[]> {
  return Object.fromEntries(
    Object.entries(c.req.queries()).map(([k, v]) => [k, v.length === 1 ? (v[0] ?? "") : v]),
  );
}

/** Gathers an operation's input from the path, the query string and the body. */
async function restInput(c: Context, op: AnyOperation, maxBodyBytes: number): Promise<unknown> {
  const input: Record<string, unknown> = {};
  if (op.method === "GET" || op.method === "DELETE") Object.assign(input, queryOf(c));
  else if (op.rawBody && op.bodyAs) {
    const { text, format } = await readRawBody(c, maxBodyBytes);
    input[op.bodyAs] = text;
    input.format = format;
  } else {
    const body = await readBody(c, maxBodyBytes);
    if (op.bodyAs) input[op.bodyAs] = body;
    else if (body !== undefined) {
      // A body that is not an object is passed as it is, for the schema to reject.
      if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
      Object.assign(input, body);
    }
  }
  if (op.method !== "GET" && op.method !== "DELETE")
    for (const name of op.queryParams ?? []) {
      const value = c.req.query(name);
      if (value !== undefined) input[name] = value;
    }
  // Path parameters win over anything in the body or query of the same name.
  Object.assign(input, c.req.param());
  return input;
}

/** The validated input of a read, or undefined when it is not valid (refused later, in order). */
async function earlyInput(c: Context, op: AnyOperation): Promise<unknown> {
  try {
    const raw = await restInput(c, op, 0);
    assertSafeInput(raw);
    const parsed = op.input.safeParse(raw);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Every operation of the catalog as a REST route: authenticate → validate → authorise → run → audit. */
export function mountRest(app: Hono<AppEnv>, deps: Deps): void {
  for (const op of Object.values(operations) as AnyOperation[]) {
    app.on(op.method, op.path, async (c) => {
      const scratch: Scratch = { leaveForeground: enterForeground() };
      const meta = requestMetaOf(c, deps, scratch);
      try {
        // A read's input is its path and query string: its whole cost is known before
        // authentication charges it (one round trip to Redis, not two). Anything invalid is
        // charged 1 and refused below, after authentication, as before.
        const early = op.method === "GET" ? await earlyInput(c, op) : undefined;
        scratch.charged = early === undefined ? 1 : costOf(op, early);
        const caller = await authenticate(deps, op.auth, meta.authorization, meta.sourceIp, {
          apiKeyBearer: op.apiKeyBearer,
          cost: scratch.charged,
        });
        scratch.caller = caller;
        c.set("caller", caller);
        let input = early;
        if (input === undefined) {
          const raw = await restInput(c, op, deps.bodyLimitBytes);
          assertSafeInput(raw);
          input = op.input.parse(raw);
        }
        const value = await authorizeAndRun(deps, op, caller, input, meta, scratch);
        if (op.transport === "websocket") {
          const slot = upgradeOf(c);
          if (!slot) throw new ValidationError("this route needs a WebSocket upgrade");
          // The adapter (upgrade.ts) completes the handshake and hands the socket over.
          slot.reply = value as SocketReply;
          await auditOutcome(deps, op, meta, scratch, null, 101);
          return c.body(null, 200);
        }
        await auditOutcome(deps, op, meta, scratch, null, op.successStatus);
        if (op.transport === "stream") {
          const reply = value as StreamReply;
          return c.body(reply.body, op.successStatus, {
            "content-type": reply.contentType,
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
          });
        }
        const rendered = op.render?.(value, input);
        if (rendered)
          return c.body(rendered.body, op.successStatus, { "content-type": rendered.contentType });
        if (isLongPage(value))
          return c.body(pageStream(value), op.successStatus, {
            "content-type": "application/json; charset=UTF-8",
          });
        return c.json(value as object, op.successStatus);
      } catch (error) {
        const berth = toBerthError(error);
        await auditOutcome(deps, op, meta, scratch, berth, httpStatusOf(berth.code));
        throw error;
      } finally {
        scratch.leaveForeground?.();
      }
    });
  }
}
