import { createHash, timingSafeEqual } from "node:crypto";
import {
  BerthError,
  idOf,
  NotFoundError,
  newId,
  type PriceBookDocument,
  priceBookSchema,
  UnauthenticatedError,
  ValidationError,
} from "@berth/core";
import { priceBooks, type Tx, tenants, withSystem } from "@berth/db";
import { eq, isNull, sql } from "drizzle-orm";
import type { Hono } from "hono";
import type { Deps } from "../deps";
import type { AppEnv } from "./context";

/**
 * The platform operator's API (not a tenant's): price books. Berth had no notion of a platform
 * administrator, so this is the smallest safe one: the routes exist only when PLATFORM_ADMIN_TOKEN
 * is set, and answer only requests bearing it (compared in constant time). They are not part of
 * the tenant operation catalog (no tRPC, no tenant IAM action, not in the tenant OpenAPI document);
 * every change is logged with the request id.
 *
 *   GET    /admin/v1/price-books                       the default plan and every override
 *   PUT    /admin/v1/price-books/default               replace the default plan
 *   PUT    /admin/v1/price-books/tenants/:tenantId     set a tenant's override
 *   DELETE /admin/v1/price-books/tenants/:tenantId     remove it (the default plan applies)
 */
export function mountAdmin(app: Hono<AppEnv>, deps: Deps): void {
  const token = deps.platformAdminToken;
  if (!token) return;
  const expected = createHash("sha256").update(token).digest();
  app.use("/admin/*", async (c, next) => {
    const presented = /^Bearer (.+)$/.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
    if (!timingSafeEqual(createHash("sha256").update(presented).digest(), expected))
      throw new UnauthenticatedError("the platform admin token is required");
    await next();
  });

  app.get("/admin/v1/price-books", async (c) => {
    const rows = await withSystem(deps.db, (tx) => tx.select().from(priceBooks).orderBy(priceBooks.id));
    return c.json({
      items: rows.map((r) => ({
        id: r.id,
        tenantId: r.tenantId,
        document: r.document,
        updatedAt: r.updatedAt,
      })),
    });
  });

  app.put("/admin/v1/price-books/default", async (c) => {
    const document = parseBook(await bodyOf(c.req.raw));
    await withSystem(deps.db, async (tx) => {
      const [row] = await tx
        .select({ id: priceBooks.id })
        .from(priceBooks)
        .where(isNull(priceBooks.tenantId));
      if (row)
        await tx.update(priceBooks).set({ document, updatedAt: sql`now()` }).where(eq(priceBooks.id, row.id));
      else await tx.insert(priceBooks).values({ id: newId("priceBook"), tenantId: null, document });
    });
    deps.logger.info({ requestId: c.get("requestId") }, "admin: default price book replaced");
    return c.json({ tenantId: null, document });
  });

  app.put("/admin/v1/price-books/tenants/:tenantId", async (c) => {
    const tenantId = tenantIdOf(c.req.param("tenantId"));
    const document = parseBook(await bodyOf(c.req.raw));
    await withSystem(deps.db, async (tx) => {
      const [tenant] = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
      if (!tenant) throw new NotFoundError("tenant", tenantId);
      await putBook(tx, tenantId, document);
    });
    deps.logger.info({ requestId: c.get("requestId"), tenantId }, "admin: tenant price book set");
    return c.json({ tenantId, document });
  });

  app.delete("/admin/v1/price-books/tenants/:tenantId", async (c) => {
    const tenantId = tenantIdOf(c.req.param("tenantId"));
    const gone = await withSystem(deps.db, (tx) =>
      tx.delete(priceBooks).where(eq(priceBooks.tenantId, tenantId)).returning({ id: priceBooks.id }),
    );
    if (gone.length === 0) throw new NotFoundError("price book of tenant", tenantId);
    deps.logger.info({ requestId: c.get("requestId"), tenantId }, "admin: tenant price book removed");
    return c.json({ tenantId, removed: true });
  });
}

/** Replaces the default plan (tenant null) or a tenant's override, or creates it. */
async function putBook(tx: Tx, tenantId: string | null, document: PriceBookDocument): Promise<void> {
  const owner = tenantId === null ? isNull(priceBooks.tenantId) : eq(priceBooks.tenantId, tenantId);
  const [row] = await tx.select({ id: priceBooks.id }).from(priceBooks).where(owner).for("update");
  if (row)
    await tx.update(priceBooks).set({ document, updatedAt: sql`now()` }).where(eq(priceBooks.id, row.id));
  else await tx.insert(priceBooks).values({ id: newId("priceBook"), tenantId, document });
}

function tenantIdOf(value: string): string {
  const r = idOf("tenant").safeParse(value);
  if (!r.success)
    throw new ValidationError("tenantId: must be an id of the form ten_…", [
      { path: "tenantId", message: "ten_…" },
    ]);
  return r.data;
}

async function bodyOf(req: Request): Promise<unknown> {
  if (!(req.headers.get("content-type") ?? "").includes("application/json"))
    throw new BerthError("UNSUPPORTED_MEDIA_TYPE", "send the price book as application/json");
  return req.json().catch(() => {
    throw new ValidationError("the body is not JSON");
  });
}

function parseBook(body: unknown): PriceBookDocument {
  return priceBookSchema.parse(body);
}
