export * from "./clusters";
export * from "./metering";
export * from "./nodes";
export * from "./tenants";
export * from "./workloads";
