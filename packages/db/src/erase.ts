import { and, eq, lte, ne, sql } from "drizzle-orm";
import { type Db, withSystem } from "./client";
import {
  apiKeys,
  auditEvents,
  budgetAlerts,
  budgets,
  clusterCas,
  clusters,
  deploymentRevisions,
  deployments,
  events,
  ingressHosts,
  ingressRouteStats,
  invoiceLines,
  invoices,
  joinTokens,
  loadBalancerPorts,
  machines,
  meterIntervals,
  nodeMetrics,
  nodePools,
  nodes,
  objects,
  persistentVolumes,
  podMetrics,
  pods,
  policies,
  policyAttachments,
  priceBooks,
  refreshTokens,
  serviceAccounts,
  tenants,
  usageDirtyHours,
  usageEvents,
  usageHourly,
  users,
  webhookDeliveries,
  webhookEndpoints,
} from "./schema";

/** Every table of a tenant's data, children before parents (the order deletes must take). */
const TENANT_TABLES = [
  budgetAlerts,
  budgets,
  webhookDeliveries,
  webhookEndpoints,
  usageEvents,
  usageDirtyHours,
  usageHourly,
  invoiceLines,
  invoices,
  priceBooks,
  meterIntervals,
  podMetrics,
  nodeMetrics,
  events,
  ingressRouteStats,
  loadBalancerPorts,
  ingressHosts,
  pods,
  deploymentRevisions,
  deployments,
  persistentVolumes,
  objects,
  machines,
  nodePools,
  nodes,
  joinTokens,
  clusterCas,
  clusters,
  apiKeys,
  refreshTokens,
  policyAttachments,
  policies,
  serviceAccounts,
  users,
  auditEvents,
] as const;

/**
 * Erases closed tenants whose retention has passed and whose clusters are all deleted: every row of
 * theirs, the audit log included (the database allows that only for such tenants), then the tenant
 * itself, one transaction per tenant. Returns the ids erased.
 */
export async function eraseClosedTenants(db: Db, now: Date): Promise<string[]> {
  const due = await withSystem(db, (tx) =>
    tx
      .select({ id: tenants.id })
      .from(tenants)
      .where(
        and(
          eq(tenants.status, "closed"),
          lte(tenants.eraseAfter, now),
          sql`not exists (select 1 from ${clusters} where ${clusters.tenantId} = ${tenants.id} and ${ne(clusters.status, "deleted")})`,
        ),
      )
      .limit(100),
  );
  const erased: string[] = [];
  for (const { id } of due) {
    await withSystem(db, async (tx) => {
      for (const table of TENANT_TABLES) await tx.delete(table).where(eq(table.tenantId, id));
      await tx.delete(tenants).where(and(eq(tenants.id, id), eq(tenants.status, "closed")));
    });
    erased.push(id);
  }
  return erased;
}
