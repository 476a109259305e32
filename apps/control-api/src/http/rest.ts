import type { Context, Hono } from "hono";
import { authenticate } from "../auth/authenticate";
import type { Deps } from "../deps";
import type { AnyOperation, CallerOf } from "../operation";
import { operations } from "../operations";
import { readBody } from "./body";
import type { AppEnv } from "./context";

/** Gathers an operation's input from the path, the query string and the body. */
async function restInput(c: Context, op: AnyOperation): Promise<Record<string, unknown>> {
  const input: Record<string, unknown> = {};
  if (op.method === "GET" || op.method === "DELETE") Object.assign(input, c.req.query());
  else {
    const body = await readBody(c);
    if (op.bodyAs) input[op.bodyAs] = body;
    else if (body !== undefined) {
      if (typeof body !== "object" || body === null || Array.isArray(body)) return { __body: body };
      Object.assign(input, body);
    }
  }
  // Path parameters win over anything in the body or query of the same name.
  Object.assign(input, c.req.param());
  return input;
}

export function mountRest(app: Hono<AppEnv>, deps: Deps): void {
  for (const op of Object.values(operations) as AnyOperation[]) {
    app.on(op.method, op.path, async (c) => {
      const caller = await authenticate(deps, op.auth, c.req.header("authorization"));
      c.set("caller", caller);
      const input = op.input.parse(await restInput(c, op));
      const value: unknown = await op.run(deps, caller as CallerOf<typeof op.auth>, input);
      const rendered = op.render?.(value, input);
      if (rendered) return c.body(rendered.body, op.successStatus, { "content-type": rendered.contentType });
      return c.json(value as object, op.successStatus);
    });
  }
}
