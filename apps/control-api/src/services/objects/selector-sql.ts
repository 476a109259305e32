import { type LabelSelector, parseLabelSelector } from "@berth/kube";
import { type AnyColumn, and, type SQL, sql } from "drizzle-orm";
import { z } from "zod";

/** `?labelSelector=` as a query parameter: Kubernetes' syntax, parsed and checked at the edge. */
export const labelSelectorParam = z
  .string()
  .max(1024)
  .transform((text, ctx) => {
    try {
      return parseLabelSelector(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message.replace(/^labelSelector: /, "") });
      return z.NEVER;
    }
  });

/** The selector as a condition on a `labels` jsonb column (every requirement must hold). */
export function selectorCondition(labels: AnyColumn, selector: LabelSelector | undefined): SQL | undefined {
  if (!selector) return undefined;
  const parts: SQL[] = [];
  const equal = selector.matchLabels ?? {};
  if (Object.keys(equal).length > 0) parts.push(sql`${labels} @> ${JSON.stringify(equal)}::jsonb`);
  for (const e of selector.matchExpressions ?? []) {
    const value = sql`(${labels} ->> ${e.key})`;
    const values = e.values ?? [];
    if (e.operator === "Exists") parts.push(sql`(${labels} ? ${e.key})`);
    else if (e.operator === "DoesNotExist") parts.push(sql`not (${labels} ? ${e.key})`);
    else if (e.operator === "In")
      parts.push(
        values.length === 0
          ? sql`false`
          : sql`${value} in (${sql.join(
              values.map((v) => sql`${v}`),
              sql`, `,
            )})`,
      );
    else
      parts.push(
        values.length === 0
          ? sql`true`
          : sql`(${value} is null or ${value} not in (${sql.join(
              values.map((v) => sql`${v}`),
              sql`, `,
            )}))`,
      );
  }
  return parts.length > 0 ? and(...parts) : undefined;
}
