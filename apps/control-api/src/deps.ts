import type { FairSemaphore, Logger, MasterKey } from "@berth/core";
import type { Queues } from "@berth/core/queues";
import type { RedisClient } from "@berth/core/redis";
import type { Db } from "@berth/db";
import type { Registry } from "prom-client";
import type { AccessTokens, PrincipalType } from "./auth/access-tokens";
import type { AdmissionCache } from "./auth/admission-cache";
import type { AdmissionFacts, AttachedPolicy } from "./auth/authorize";
import type { AdmittedNode } from "./auth/node-credentials";
import type { AssignmentHub } from "./push/hub";
import type { AgentSource } from "./services/agent-bundle";
import type { TenantReads } from "./services/read-cache";
import type { RegistryTokenSettings } from "./services/registry-token";
import type { Streams } from "./streams/streams";

/** Everything the API needs, built once in index.ts (or by a test) and passed down. */
export interface Deps {
  readonly db: Db;
  readonly redis: RedisClient;
  readonly queues: Queues;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly master: MasterKey;
  readonly tokens: AccessTokens;
  /** The issuer of every token and the URL node agents are told to use. */
  readonly publicUrl: string;
  /** Where the local-vm provider keeps its VMs (LOCAL_VM_DIR): their console output is served from there. */
  readonly localVmDir: string;
  readonly bodyLimitBytes: number;
  readonly limits: Limits;
  /** Take the client address from X-Forwarded-For (only behind a proxy that sets it). */
  readonly trustProxy: boolean;
  readonly refreshTokenTtlSeconds: number;
  /** `/metrics` on the public port needs `Authorization: Bearer <this>`; null: not served there. */
  readonly metricsToken: string | null;
  /** The platform operator's bearer token for /admin/v1 (price books); null: those routes do not exist. */
  readonly platformAdminToken: string | null;
  /** Slots for expensive calls (large lists), shared fairly between tenants within this replica. */
  readonly expensiveCalls: FairSemaphore;
  /** Image prefixes pods may use when their tenant has no list of its own (ALLOWED_IMAGE_PREFIXES). */
  readonly allowedImagePrefixes: readonly string[];
  /** Webhook endpoints may be plain http to a loopback host (WEBHOOK_ALLOW_LOOPBACK; tests only). */
  readonly webhookAllowLoopback: boolean;
  /** The platform's apps domain (BERTH_APPS_DOMAIN): each tenant's Ingresses may use `*.<tenant>.<it>`. */
  readonly appsDomain?: string;
  readonly now: () => Date;
  /**
   * Check every JSON reply against its operation's `output` schema; a mismatch is a 500 naming the
   * fields (CHECK_REPLIES; on in tests, off in production where it would only cost time).
   */
  readonly checkReplies?: boolean;
  /** Wakes node agents' watches when their assignments change (LISTEN on Postgres). */
  readonly assignments: AssignmentHub;
  /** What admits principals' tokens, cached until Postgres says it changed (auth/admission-cache.ts). */
  readonly admissions: AdmissionCache<AdmissionFacts>;
  /** A tenant's reads cached per replica until Postgres or a write says they changed (services/read-cache.ts). */
  readonly reads: TenantReads;
  /** Node credentials already verified, cached until Postgres says their cluster's keys or nodes changed (auth/node-credentials.ts). */
  readonly nodeCredentials: AdmissionCache<AdmittedNode>;
  /** Logs and exec relayed between clients and node agents over Redis (streams/). */
  readonly streams: Streams;
  /** The node agent this control plane serves, installs and announces to agents (self-update). */
  readonly agent: AgentSource;
  /** Berth's registry as image names give it (REGISTRY_HOST): admission's rule for it, nodes' credential for it. */
  readonly registryHost?: string | null;
  /** The image registry's token service (REGISTRY_TOKEN_*); absent: GET /v1/registry/token answers 404. */
  readonly registry?: RegistryTokenSettings | null;
}

export type Caller =
  | { readonly kind: "anonymous" }
  | {
      /** A tenant's principal: a user or a service account. */
      readonly kind: "user";
      readonly tenantId: string;
      readonly principalId: string;
      readonly principalType: PrincipalType;
      readonly apiKeyId: string | undefined;
      readonly policies: AttachedPolicy[];
      /**
       * The tenant's read version as this request found it (services/read-cache.ts); absent when
       * the request did not read it: its reads then come from Postgres.
       */
      readonly readVersion?: string;
    }
  | {
      readonly kind: "node";
      readonly tenantId: string;
      readonly clusterId: string;
      readonly nodeId: string;
      readonly expiresAt: number;
      readonly kid: string;
    }
  | { readonly kind: "joinToken"; readonly token: string };

export type UserCaller = Extract<Caller, { kind: "user" }>;
export type NodeCaller = Extract<Caller, { kind: "node" }>;

/** Abuse limits; every one is explicit and configurable. */
export interface Limits {
  /** Requests per minute of one principal, and of all principals of one tenant. */
  requestsPerMinutePerPrincipal: number;
  requestsPerMinutePerTenant: number;
  /**
   * Sign-in attempts per 15 minutes: for one account from one address (the tight limit), from one
   * address, and for one account from addresses it never signed in from (see login-throttle.ts).
   */
  loginFailuresPerAccountAndIp: number;
  loginFailuresPerIp: number;
  loginFailuresPerAccount: number;
  /** Requests per minute to the public routes (sign-up, login) from one address. */
  publicRequestsPerMinutePerIp: number;
  /** The most calls one tRPC batch request may carry. */
  trpcBatchSize: number;
  /** Lifetime of an API key created without `expiresAt` ("never" must be asked for). */
  apiKeyDefaultTtlDays: number;
  /** How long a closed tenant's data is kept before the provisioner erases it. */
  tenantRetentionDays: number;
}
