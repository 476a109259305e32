import type { Caller } from "../deps";

/** Per-request values Hono carries between middleware and handlers. */
export interface AppEnv {
  Variables: {
    requestId: string;
    caller: Caller;
  };
}
