import { BerthError, ValidationError } from "@berth/core";
import type { Context } from "hono";
import { parse as parseYaml } from "yaml";

const YAML_TYPES = new Set(["application/yaml", "application/x-yaml", "text/yaml"]);

function contentTypeOf(c: Context): string {
  return (c.req.header("content-type") ?? "application/json").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** A body left as text for the operation to read (several YAML documents); its format by Content-Type. */
export async function readRawBody(c: Context): Promise<{ text: string; format: "yaml" | "json" }> {
  const type = contentTypeOf(c);
  const text = await c.req.text();
  if (type === "application/json" || type.endsWith("+json")) return { text, format: "json" };
  if (YAML_TYPES.has(type)) return { text, format: "yaml" };
  throw new BerthError(
    "UNSUPPORTED_MEDIA_TYPE",
    `unsupported Content-Type ${JSON.stringify(type)}; send application/json or application/yaml`,
  );
}

/** Reads a request body as JSON or YAML (by Content-Type); an empty body is `undefined`. */
export async function readBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
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
