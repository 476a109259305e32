export * from "./clusters";
export * from "./iam";
export * from "./machines";
export * from "./metering";
export * from "./nodes";
export * from "./tenant";
export * from "./tenants";
export * from "./workloads";
