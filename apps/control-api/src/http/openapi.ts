import { z } from "zod";
import type { AnyOperation } from "../operation";
import { operations } from "../operations";

type JsonSchema = { properties?: Record<string, unknown>; [key: string]: unknown };

/**
 * The JSON Schema of a value as it is on the wire (zod's `io: "input"`: a field with a default may
 * be absent) — a request as a client sends it, a reply as the service returns it (replies are not
 * parsed through their schema, so its defaults are not filled in).
 */
export function schemaOf(type: z.ZodType): JsonSchema {
  return z.toJSONSchema(type, { io: "input", unrepresentable: "any" }) as unknown as JsonSchema;
}

/** What a successful JSON call answers: the operation's output schema. */
function jsonReply(op: AnyOperation): Record<string, unknown> {
  return {
    description: "success",
    ...(op.output ? { content: { "application/json": { schema: schemaOf(op.output) } } } : {}),
  };
}

/** The OpenAPI 3.1 description of the REST API, built from the operation catalog. */
export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, Record<string, unknown>> };

export function openApiDocument(serverUrl: string): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of Object.values(operations) as AnyOperation[]) {
    const pathParams = [...op.path.matchAll(/:(\w+)/g)].map((m) => m[1] ?? "");
    const schema = schemaOf(op.input);
    const props = schema.properties ?? {};
    const parameters: unknown[] = pathParams.map((name) => ({
      name,
      in: "path",
      required: true,
      schema: props[name] ?? { type: "string" },
    }));
    let requestBody: unknown;
    if (op.method === "GET" || op.method === "DELETE") {
      for (const [name, s] of Object.entries(props))
        if (!pathParams.includes(name)) parameters.push({ name, in: "query", schema: s });
    } else {
      const body = op.bodySchema
        ? schemaOf(op.bodySchema)
        : op.bodyAs
          ? props[op.bodyAs]
          : {
              ...schema,
              properties: Object.fromEntries(Object.entries(props).filter(([k]) => !pathParams.includes(k))),
            };
      requestBody = {
        required: true,
        content: {
          "application/json": { schema: body },
          ...(op.bodyAs ? { "application/yaml": { schema: body } } : {}),
        },
      };
    }
    const path = op.path.replace(/:(\w+)/g, "{$1}");
    paths[path] ??= {};
    paths[path][op.method.toLowerCase()] = {
      operationId: op.id,
      summary: op.summary,
      tags: [op.id.split(".")[0]],
      "x-berth-action": op.action,
      ...(op.auth === "public" ? { security: [] } : {}),
      parameters,
      ...(requestBody ? { requestBody } : {}),
      ...(op.transport === "websocket" ? { "x-berth-websocket": true } : {}),
      responses: {
        ...(op.transport === "websocket"
          ? { 101: { description: "switching to a WebSocket (channel-framed; see the README)" } }
          : op.transport === "stream"
            ? {
                [op.successStatus]: {
                  description: "streamed as it is produced",
                  content: { "text/plain": { schema: { type: "string" } } },
                },
              }
            : { [op.successStatus]: jsonReply(op) }),
        default: {
          description: "error",
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "Berth API", version: "1" },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message", "requestId"],
              properties: {
                code: { type: "string" },
                message: { type: "string" },
                requestId: { type: "string" },
              },
            },
          },
        },
      },
    },
  };
}
