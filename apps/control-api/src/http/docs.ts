import { escapeMarkup as esc } from "../services/markup";
import { appRouter } from "../trpc/router";

import type { OpenApiDocument } from "./openapi";

interface OpenApiOperation {
  operationId: string;
  summary: string;
  tags: string[];
  "x-berth-action": string;
  security?: unknown[];
  parameters: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
}

/** The tRPC procedure of each operation id (`clusters.create` → `clusters.create`, kinds by their key). */
export function trpcPaths(): Map<string, string> {
  const byId = new Map<string, string>();
  const procedures = appRouter._def.procedures as unknown as Record<
    string,
    { _def: { meta?: { operationId?: string } } }
  >;
  for (const [path, procedure] of Object.entries(procedures)) {
    const id = procedure._def.meta?.operationId;
    if (id) byId.set(id, path);
  }
  return byId;
}

const typeOf = (schema: unknown): string => {
  const s = schema as { type?: unknown; enum?: unknown[]; anyOf?: unknown[] } | undefined;
  if (!s) return "";
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (Array.isArray(s.anyOf)) return s.anyOf.map(typeOf).join(" | ");
  return typeof s.type === "string" ? s.type : "";
};

const schemaBlock = (title: string, schema: unknown): string =>
  `<details><summary>${esc(title)}</summary><pre>${esc(JSON.stringify(schema, null, 2))}</pre></details>`;

function operationHtml(
  method: string,
  path: string,
  op: OpenApiOperation,
  trpc: Map<string, string>,
): string {
  const params = op.parameters.length
    ? `<table><tr><th>parameter</th><th>in</th><th>type</th></tr>${op.parameters
        .map(
          (p) =>
            `<tr><td><code>${esc(p.name)}</code>${p.required ? " (required)" : ""}</td><td>${esc(p.in)}</td><td>${esc(typeOf(p.schema))}</td></tr>`,
        )
        .join("")}</table>`
    : "";
  const body = Object.entries(op.requestBody?.content ?? {})[0];
  const replies = Object.entries(op.responses)
    .filter(([status]) => status !== "default")
    .map(([status, r]) => {
      const content = Object.entries(r.content ?? {})[0];
      return content
        ? schemaBlock(`${status} ${content[0]}: reply schema`, content[1].schema)
        : `<p>${esc(status)}: ${esc(r.description)}</p>`;
    })
    .join("");
  const procedure = trpc.get(op.operationId);
  return `<section id="${esc(op.operationId)}">
<h3><code>${esc(method.toUpperCase())} ${esc(path)}</code></h3>
<p>${esc(op.summary)}</p>
<p class="facts">operation <code>${esc(op.operationId)}</code> · ${
    procedure ? `tRPC <code>${esc(procedure)}</code>` : "REST only"
  } · IAM <code>${esc(op["x-berth-action"])}</code> · ${op.security?.length === 0 ? "public" : "bearer token"}</p>
${params}${body ? schemaBlock(`request body (${body[0]})`, body[1].schema) : ""}${replies}
</section>`;
}

/** A page for people: every operation of the OpenAPI document, grouped by area, with its schemas. */
export function docsPage(document: OpenApiDocument): string {
  const doc = document as unknown as { paths: Record<string, Record<string, OpenApiOperation>> };
  const trpc = trpcPaths();
  const byTag = new Map<string, string[]>();
  for (const [path, methods] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(methods)) {
      const tag = op.tags[0] ?? "other";
      byTag.set(tag, [...(byTag.get(tag) ?? []), operationHtml(method, path, op, trpc)]);
    }
  const tags = [...byTag.keys()].sort();
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Berth API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
code,pre{font:13px ui-monospace,monospace}pre{background:#f5f7f9;padding:.6rem;overflow:auto;max-height:30rem}
section{border-top:1px solid #d8dee4;padding:.4rem 0}h3{margin:.4rem 0}.facts{color:#57606a}
table{border-collapse:collapse}td,th{border:1px solid #d8dee4;padding:.2rem .5rem;text-align:left}
nav a{margin-right:.8rem}
</style></head><body>
<h1>Berth API</h1>
<p>Every operation is served over REST (below) and, unless it streams, as a tRPC procedure at
<code>/trpc/&lt;procedure&gt;</code> (the typed client of <code>@berth/sdk</code>). Calls carry
<code>Authorization: Bearer &lt;access token&gt;</code> from <code>POST /v1/auth/token</code>; errors
are <code>{"error": {"code", "message", "requestId"}}</code> with a 4xx or 5xx status. The machine-readable
document is <a href="/v1/openapi.json">/v1/openapi.json</a> (OpenAPI 3.1).</p>
<nav>${tags.map((t) => `<a href="#tag-${esc(t)}">${esc(t)}</a>`).join(" ")}</nav>
${tags.map((t) => `<h2 id="tag-${esc(t)}">${esc(t)}</h2>\n${(byTag.get(t) ?? []).join("\n")}`).join("\n")}
</body></html>
`;
}
