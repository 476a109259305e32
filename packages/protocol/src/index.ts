/**
 * The wire contract between the control plane and the node agent: what each sends, what each
 * accepts, and the facts both rely on. Pure: schemas, types and constants, no I/O.
 */
export * from "./agent-version";
export * from "./channel";
export * from "./constants";
export * from "./container";
export * from "./labels";
export * from "./metrics";
export * from "./network";
export * from "./network-policy";
export * from "./node";
export * from "./pods";
export * from "./probes";
export * from "./quantity";
export * from "./security";
export * from "./streams";
export * from "./strings";
export * from "./tunnel";
export * from "./volumes";
