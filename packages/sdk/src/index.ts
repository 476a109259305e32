export {
  type BerthClient,
  type CallOptions,
  type ClientOf,
  type ClientOptions,
  createClient,
  type Inputs,
  type Outputs,
} from "./client";
export { BerthApiError, errorCodeOf, type Issue } from "./errors";
export type { Procedures } from "./procedures";
