import type { Logger, MasterKey } from "@berth/core";
import type { Queues } from "@berth/core/queues";
import type { Db } from "@berth/db";
import type { Redis } from "ioredis";
import type { Registry } from "prom-client";

export interface Timings {
  nodeLeaseMs: number;
  podEvictionMs: number;
  sweepIntervalMs: number;
  /** How long a deleting cluster waits for its node agents to leave before it releases them itself. */
  deleteGraceMs: number;
}

export interface Deps {
  readonly db: Db;
  /** For queues; workers make their own blocking connections from it. */
  readonly redis: Redis;
  readonly queues: Queues;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly master: MasterKey;
  readonly timings: Timings;
  readonly reconcileConcurrency: number;
  readonly now: () => Date;
}
