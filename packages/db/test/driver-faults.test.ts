import { createServer } from "node:net";
import postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";

/**
 * Faults of the Postgres driver (postgres.js) that infra/patch-deps.mjs mends, shown against a
 * server that speaks just enough of Postgres' protocol to misbehave on cue.
 */

/** One backend message: its type, its length, its body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, "latin1");
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const authenticationOk = message("R", Buffer.from([0, 0, 0, 0]));
const readyForQuery = message("Z", Buffer.from("I"));

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
afterEach(() => {
  process.off("unhandledRejection", onUnhandled);
});

describe("the Postgres driver", () => {
  it("survives a connection that drops while it fetches the array types, its first query", async () => {
    process.on("unhandledRejection", onUnhandled);
    // Accepts one connection: the startup is answered, and the first query (the array types) cut.
    // Then it stops listening, so the driver's next connect is refused, as while Postgres restarts.
    const server = createServer((socket) => {
      let started = false;
      socket.on("data", () => {
        if (!started) {
          started = true;
          socket.write(Buffer.concat([authenticationOk, readyForQuery]));
          return;
        }
        socket.destroy();
        server.close();
      });
      socket.on("error", () => {});
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", () => ok()));
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const sql = postgres({ host: "127.0.0.1", port, user: "u", database: "d", max: 1, connect_timeout: 2 });
    try {
      await expect(sql`select 1`).rejects.toThrow();
      await new Promise((r) => setTimeout(r, 200));
      expect(unhandled).toEqual([]);
    } finally {
      await sql.end({ timeout: 1 }).catch(() => {});
      server.close();
    }
  });
});
