import type { Logger, MasterKey } from "@berth/core";
import type { Queues } from "@berth/core/queues";
import type { Db } from "@berth/db";
import type { Redis } from "ioredis";
import type { Registry } from "prom-client";
import type { AccessTokens } from "./auth/access-tokens";

/** Everything the API needs, built once in index.ts (or by a test) and passed down. */
export interface Deps {
  readonly db: Db;
  readonly redis: Redis;
  readonly queues: Queues;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly master: MasterKey;
  readonly tokens: AccessTokens;
  /** The issuer of every token and the URL node agents are told to use. */
  readonly publicUrl: string;
  readonly bodyLimitBytes: number;
  readonly now: () => Date;
}

export type Caller =
  | { readonly kind: "anonymous" }
  | { readonly kind: "user"; readonly tenantId: string; readonly userId: string }
  | {
      readonly kind: "node";
      readonly tenantId: string;
      readonly clusterId: string;
      readonly nodeId: string;
      readonly expiresAt: number;
    }
  | { readonly kind: "joinToken"; readonly token: string };

export type UserCaller = Extract<Caller, { kind: "user" }>;
export type NodeCaller = Extract<Caller, { kind: "node" }>;
