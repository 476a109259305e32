export {
  type AlertKind,
  BUDGET_EVENT_TYPE,
  type BudgetRow,
  type BudgetScope,
  type BudgetSpend,
  budgetSpends,
  evaluateBudgets,
  forecastOf,
  pendingDeliveries,
  scopeOf,
} from "./budgets";
export {
  type ChangeRecord,
  closeDb,
  createDb,
  type Db,
  type DbOptions,
  type DbUrls,
  ping,
  recordingChanges,
  systemStatement,
  TRANSACTION_CHANGED,
  type Tx,
  withSystem,
  withTenant,
} from "./client";
export { endpointPods } from "./endpoint-pods";
export { eraseClosedTenants } from "./erase";
export {
  computeInvoice,
  draftIdOf,
  finalizeInvoices,
  INVOICE_CLOSE_DELAY_MS,
  type Invoice,
  type InvoiceLine,
  monthCells,
  monthOf,
  priceBookOf,
} from "./invoices";
export { type RollupOptions, type RollupResult, readMeasuredUsage, rollupMetrics } from "./metrics";
export { MIGRATIONS_FOLDER, runMigrations } from "./migrate";
export { loadPlatformKeys, type PlatformKeys, rotatePlatformKey } from "./platform-keys";
export { bookOfMonth, type PricedRollupRow, pricedMonthRollups } from "./priced-rollups";
export {
  closeMeters,
  EVENT_DEDUPE_WINDOW_SECONDS,
  type EventInput,
  latestLaunchFailures,
  openMeter,
  recordEvent,
  recordEvents,
  releaseNode,
} from "./records";
export {
  CHANGE_CAUSE_ANNOTATION,
  type DeploymentRow,
  REVISION_ANNOTATION,
  type RevisionRow,
  restoreRevision,
  revisionsOf,
  rollbackTarget,
} from "./rollouts";
export { scaleDeployment } from "./scale";
export * from "./schema";
export { clusterDataKey, openSecretData, sealSecretData } from "./secret-data";
export { statement } from "./statement";
export {
  deriveOverRequestEvents,
  deriveUsageEvents,
  HOUR_MS,
  hourOf,
  type IngestResult,
  ingestUsageEvents,
  LATE_EVENT_WINDOW_MS,
  rollupAll,
  rollupDirtyHours,
  type UsageEvent,
} from "./usage";
export { deriveEgressEvents, EGRESS_SETTLE_MS } from "./usage-egress";
