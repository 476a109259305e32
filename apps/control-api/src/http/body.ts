import type { IncomingMessage } from "node:http";
import { BerthError, ValidationError } from "@berth/core";
import type { Context } from "hono";
import { parse as parseYaml } from "yaml";

const utf8 = new TextDecoder();

const tooLarge = (maxBytes: number) =>
  new BerthError("PAYLOAD_TOO_LARGE", `request bodies are limited to ${maxBytes} bytes`);

/**
 * The body as text (UTF-8, as `Request.text()` decodes it), at most `maxBytes`, else
 * PAYLOAD_TOO_LARGE. Read straight from Node's request where there is one: the fetch `Request`
 * the adapter would build for it (headers copied, the body as a web stream) was a tenth of a
 * write's CPU, profiled. Elsewhere (`app.request` in tests), from the fetch Request.
 */
async function bodyText(c: Context, maxBytes: number): Promise<string> {
  const declared = Number(c.req.header("content-length") ?? 0);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming) {
    const text = await c.req.text();
    if (Buffer.byteLength(text) > maxBytes) throw tooLarge(maxBytes);
    return text;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  return utf8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
}

const YAML_TYPES = new Set(["application/yaml", "application/x-yaml", "text/yaml"]);

function contentTypeOf(c: Context): string {
  return (c.req.header("content-type") ?? "application/json").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** A body left as text for the operation to read (several YAML documents); its format by Content-Type. */
export async function readRawBody(
  c: Context,
  maxBytes: number,
): Promise<{ text: string; format: "yaml" | "json" }> {
  const type = contentTypeOf(c);
  const text = await bodyText(c, maxBytes);
  if (type === "application/json" || type.endsWith("+json")) return { text, format: "json" };
  if (YAML_TYPES.has(type)) return { text, format: "yaml" };
  throw new BerthError(
    "UNSUPPORTED_MEDIA_TYPE",
    `unsupported Content-Type ${JSON.stringify(type)}; send application/json or application/yaml`,
  );
}

/** Reads a request body as JSON or YAML (by Content-Type); an empty body is `undefined`. */
export async function readBody(c: Context, maxBytes: number): Promise<unknown> {
  const text = await bodyText(c, maxBytes);
  if (text.trim() === "") return undefined;
  const type = contentTypeOf(c);
  if (type === "application/json" || type.endsWith("+json")) {
    try {
      return JSON.parse(text);
    } catch {
      throw new ValidationError("the body is not valid JSON");
    }
  }
  if (YAML_TYPES.has(type)) {
    try {
      // YAML's aliases can blow up a small document into a huge one; refuse them.
      return parseYaml(text, { maxAliasCount: 0, prettyErrors: false });
    } catch {
      throw new ValidationError("the body is not valid YAML (aliases are not allowed)");
    }
  }
  throw new BerthError(
    "UNSUPPORTED_MEDIA_TYPE",
    `unsupported Content-Type ${JSON.stringify(type)}; send application/json or application/yaml`,
  );
}
