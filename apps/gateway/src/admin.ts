import { createServer, type Server } from "node:http";
import { runChecks } from "@berth/core";
import type { Db } from "@berth/db";
import { ping } from "@berth/db";
import type { Registry } from "prom-client";

/** `/healthz` (the process answers), `/readyz` (Postgres answers and a configuration is loaded), `/metrics`. */
export function createAdminServer(db: Db, metrics: Registry, loaded: () => boolean): Server {
  return createServer((req, res) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    if (req.url === "/healthz") return send(200, "application/json", JSON.stringify({ status: "ok" }));
    if (req.url === "/readyz") {
      void runChecks({
        postgres: () => ping(db),
        configuration: async () => {
          if (!loaded()) throw new Error("not loaded yet");
        },
      }).then((r) => send(r.ready ? 200 : 503, "application/json", JSON.stringify(r)));
      return;
    }
    if (req.url === "/metrics") {
      void metrics.metrics().then((text) => send(200, metrics.contentType, text));
      return;
    }
    send(
      404,
      "application/json",
      JSON.stringify({ error: { code: "ROUTE_NOT_FOUND", message: "not found" } }),
    );
  });
}
