import { ValidationError } from "@berth/core";
import { parseAllDocuments } from "yaml";

/** At most this many objects in one apply. */
export const MAX_DOCUMENTS = 200;

/**
 * The objects of a YAML stream (`---`-separated, as `kubectl apply -f` reads them) or of a JSON
 * array / `kind: List`. YAML aliases are refused (they blow up small documents into huge ones);
 * empty documents are skipped. Errors name the document (0-based) and, when known, the line.
 */
export function readDocuments(text: string, contentType: "yaml" | "json"): unknown[] {
  let items: unknown[];
  if (contentType === "json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ValidationError("the body is not valid JSON");
    }
    items = listItems(parsed);
  } else {
    const docs = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true });
    if (!Array.isArray(docs)) throw new ValidationError("the body is not valid YAML");
    items = [];
    docs.forEach((doc, i) => {
      const err = doc.errors[0];
      if (err)
        throw new ValidationError(
          `documents[${i}]: not valid YAML${err.linePos?.[0] ? ` (line ${err.linePos[0].line})` : ""}: ${err.code}`,
        );
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: 0 });
      } catch {
        throw new ValidationError(`documents[${i}]: YAML aliases are not allowed`);
      }
      if (value !== null && value !== undefined) items.push(...listItems(value));
    });
  }
  if (items.length === 0) throw new ValidationError("no objects to apply");
  if (items.length > MAX_DOCUMENTS) throw new ValidationError(`at most ${MAX_DOCUMENTS} objects per apply`);
  return items;
}

/** A `kind: List` (or `v1/List`) or a bare array contributes its items. */
function listItems(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "List") {
    const items = (value as { items?: unknown }).items;
    if (!Array.isArray(items)) throw new ValidationError("a List needs items");
    return items;
  }
  return [value];
}
