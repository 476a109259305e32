import { createServer, type Server } from "node:http";
import { runChecks } from "@berth/core";

export interface AdminSources {
  /** Readiness checks: each throws to say why not. */
  checks: Record<string, () => Promise<unknown>>;
  /** The Prometheus exposition of the process. */
  metrics: () => Promise<{ contentType: string; text: string }>;
}

/** `/healthz` (the process answers), `/readyz` (its checks pass), `/metrics`, on the private admin port. */
export function createAdminServer(sources: AdminSources): Server {
  return createServer((req, res) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    if (req.url === "/healthz") return send(200, "application/json", JSON.stringify({ status: "ok" }));
    if (req.url === "/readyz") {
      void runChecks(sources.checks).then((r) =>
        send(r.ready ? 200 : 503, "application/json", JSON.stringify(r)),
      );
      return;
    }
    if (req.url === "/metrics") {
      void sources.metrics().then(
        (m) => send(200, m.contentType, m.text),
        (error: unknown) => send(500, "text/plain", String(error)),
      );
      return;
    }
    send(
      404,
      "application/json",
      JSON.stringify({ error: { code: "ROUTE_NOT_FOUND", message: "not found" } }),
    );
  });
}
