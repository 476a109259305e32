import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import type { Deps } from "../src/deps";
import { docsPage } from "../src/http/docs";
import { openApiDocument, schemaOf } from "../src/http/openapi";
import { type AnyOperation, operations } from "../src/operations";
import { appRouter } from "../src/trpc/router";

const ops = Object.values(operations) as AnyOperation[];

interface DocumentedOperation {
  operationId: string;
  parameters: { name: string; schema: unknown }[];
  requestBody: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> };
  responses: Record<string, { content: Record<string, { schema: unknown }> }>;
}

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

  it("lists the same operations with the same schemas over REST, tRPC and in the OpenAPI document", () => {
    const doc = openApiDocument("http://berth.test");
    const procedures = appRouter._def.procedures as unknown as Record<
      string,
      { _def: { meta?: { operationId?: string }; inputs: unknown[] } }
    >;
    const documented = Object.values(doc.paths).flatMap((methods) =>
      Object.values(methods as Record<string, { operationId: string }>).map((o) => o.operationId),
    );
    expect(documented.sort()).toEqual(ops.map((o) => o.id).sort());
    for (const op of ops) {
      const entry = (doc.paths[op.path.replace(/:(\w+)/g, "{$1}")] as Record<string, DocumentedOperation>)?.[
        op.method.toLowerCase()
      ];
      expect(entry?.operationId, `${op.method} ${op.path}`).toBe(op.id);
      if (!entry) continue;
      const json = (op.transport ?? "json") === "json";
      if (!json) continue;
      // tRPC runs the operation with the very input schema REST validates with.
      const procedure = procedures[op.id];
      expect(procedure?._def.meta?.operationId, op.id).toBe(op.id);
      expect(procedure?._def.inputs, op.id).toContain(op.input);
      // Every JSON operation documents its reply, and the document shows exactly that schema.
      expect(op.output, `${op.id} has no output schema`).toBeDefined();
      if (!op.output) continue;
      expect(entry.responses[op.successStatus]?.content["application/json"]?.schema, op.id).toEqual(
        schemaOf(op.output),
      );
      // What a client sends: the body's schema (or the query's parameters) is the input's.
      const input = schemaOf(op.bodySchema ?? op.input);
      const sent =
        op.method === "GET" || op.method === "DELETE"
          ? Object.fromEntries(
              entry.parameters.map((p: { name: string; schema: unknown }) => [p.name, p.schema]),
            )
          : entry.requestBody.content["application/json"]?.schema.properties;
      // (A body passed whole as one field, `bodyAs` without `bodySchema`, is that field's schema.)
      if (op.bodyAs && !op.bodySchema) continue;
      for (const [name, schema] of Object.entries(sent ?? {}))
        expect(schema, `${op.id} ${name}`).toEqual(input.properties?.[name]);
    }
  });

  it("serves a page for people listing every operation", () => {
    const app = createApp({ metrics: new Registry(), bodyLimitBytes: 1024 } as unknown as Deps);
    expect(app.routes.some((r) => r.method === "GET" && r.path === "/docs")).toBe(true);
    const html = docsPage(openApiDocument("http://berth.test"));
    for (const op of ops) expect(html, op.id).toContain(`id="${op.id}"`);
    expect(html).toContain("/v1/openapi.json");
  });
});
