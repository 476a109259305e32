import { z } from "zod";

/**
 * Building blocks of the operations' reply schemas (`output` in ops/*.ts): the OpenAPI document
 * publishes them, and every reply in the tests is checked against them (deps.checkReplies).
 * Replies are strict objects: a field the service returns but the schema does not name fails.
 */

/** An instant as the API writes it: ISO 8601 in UTC (`Date#toISOString`). */
export const timestamp = z.iso.datetime();

/** A page of a list: its items, and the cursor of the next page (null on the last). */
export const pageOf = <T extends z.ZodType>(item: T) =>
  z.strictObject({ items: z.array(item), nextCursor: z.string().nullable() });

/** A whole list, not paged. */
export const listOf = <T extends z.ZodType>(item: T) => z.strictObject({ items: z.array(item) });

/** What a deletion answers: the id of what is gone. */
export const deletedReply = z.strictObject({ id: z.string(), deleted: z.literal(true) });

/** An exact decimal as a string (money, billed quantities): `12.340000`, `-0.5`; never a binary float. */
export const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, "a decimal number");

/** An ISO 4217 currency code: `USD`. */
export const currencyCode = z.string().regex(/^[A-Z]{3}$/, "an ISO 4217 code");

/** Labels, annotations, tags: string keys to string values. */
export const stringMap = z.record(z.string(), z.string());

/** A status condition as Kubernetes objects carry them (Deployments, Pods, node pools, …). */
export const condition = z.strictObject({
  type: z.string(),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: timestamp,
  /** A Deployment's conditions also say when they were last updated. */
  lastUpdateTime: timestamp.optional(),
});

/**
 * A schema shared with a client that parses leniently (the node agent's of @berth/protocol, so
 * that an older agent reads a newer server's replies), strict at every level of its objects, for
 * checking what this server answers. Only the shape is kept: refinements and sizes are dropped.
 */
export function strictly<T extends z.ZodType>(schema: T): T {
  const s: z.ZodType = schema;
  const out =
    s instanceof z.ZodObject
      ? z.strictObject(Object.fromEntries(Object.entries(s.shape).map(([k, v]) => [k, strictly(v)])))
      : s instanceof z.ZodArray
        ? z.array(strictly(s.element as z.ZodType))
        : s instanceof z.ZodOptional
          ? strictly(s.unwrap() as z.ZodType).optional()
          : s instanceof z.ZodNullable
            ? strictly(s.unwrap() as z.ZodType).nullable()
            : s;
  return out as T;
}
