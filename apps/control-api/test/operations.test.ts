import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import type { Deps } from "../src/deps";
import { type AnyOperation, operations } from "../src/operations";
import { appRouter } from "../src/trpc/router";

const ops = Object.values(operations) as AnyOperation[];

describe("the operation catalog", () => {
  it("gives every operation an IAM action and a resource", () => {
    for (const op of ops) {
      expect(op.action, op.id).toMatch(/^[a-z]+:[A-Z][A-Za-z]+$/);
      expect(typeof op.resource, op.id).toBe("function");
    }
  });

  it("serves every REST route of /v1 from the catalog, so none can skip authorisation", () => {
    // Building the app does no I/O; its route table is what requests can reach.
    const app = createApp({ metrics: new Registry(), bodyLimitBytes: 1024 } as unknown as Deps);
    const routes = app.routes.filter((r) => r.path.startsWith("/v1/") && r.method !== "ALL");
    const declared = new Set(ops.map((o) => `${o.method} ${o.path}`));
    const undeclared = routes
      .map((r) => `${r.method} ${r.path}`)
      .filter((r) => !declared.has(r) && r !== "GET /v1/openapi.json");
    expect(undeclared).toEqual([]);
    expect(routes.length).toBeGreaterThanOrEqual(ops.length);
  });

  it("serves every JSON operation over tRPC under its id, and no streaming one", () => {
    const procedures = Object.keys(appRouter._def.procedures);
    const json = ops.filter((o) => (o.transport ?? "json") === "json");
    for (const op of json) expect(procedures, op.id).toContain(op.id);
    expect(procedures).toHaveLength(json.length);
    expect(json.length).toBeLessThan(ops.length);
  });

  it("has unique ids and unique method + path pairs", () => {
    expect(new Set(ops.map((o) => o.id)).size).toBe(ops.length);
    expect(new Set(ops.map((o) => `${o.method} ${o.path}`)).size).toBe(ops.length);
  });
});
