import { resolve } from "node:path";
import { type ParsedServerEnv, parseServerEnv, registryHostProblem, serverEnvShape } from "@berth/core";
import { registrySigningKeyFile } from "@berth/registry/env";
import { z } from "zod";

/** The repository (this file is apps/provisioner/src/env.ts): local state lives in its .data/. */
const REPO = resolve(import.meta.dirname, "../../..");

const schema = z.object({
  ...serverEnvShape,
  /** Health and metrics endpoint of the provisioner. */
  PROVISIONER_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  PROVISIONER_HOST: z.string().default("127.0.0.1"),
  /** A node that has not synced for this long is not_ready. */
  NODE_LEASE_SECONDS: z.coerce.number().int().min(2).max(600).default(10),
  /**
   * Pods of a not_ready node last heard this long ago are replaced on other nodes (as Nomad
   * replaces a down node's allocations; never while the cluster or its zone looks disrupted, see
   * controllers/disruption.ts). With the lease and the sweep's defaults, a lost node's pods run
   * elsewhere 12–14 s after it was last heard, plus their start.
   */
  POD_EVICTION_SECONDS: z.coerce.number().int().min(2).max(3600).default(12),
  /** How often the sweep looks for lapsed leases and clusters that need work. */
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(200).max(60_000).default(2_000),
  /** How long a deleting cluster waits for its node agents to confirm they left before releasing them. */
  CLUSTER_DELETE_GRACE_SECONDS: z.coerce.number().int().min(1).max(3600).default(120),
  /** The control API's URL as machines reach it; written into their boot scripts. */
  BERTH_API_URL: z.url().default("http://127.0.0.1:8080"),
  MACHINE_JOIN_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(3600).default(600),
  MACHINE_REPAIR_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(3600).default(120),
  DRAIN_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** The ec2 provider is on when EC2_AMI_ID is set. Region and credentials: the AWS SDK's default chain. */
  EC2_ENDPOINT: z.url().optional(),
  EC2_AMI_ID: z.string().min(1).optional(),
  EC2_SUBNET_ID: z.string().min(1).optional(),
  EC2_SECURITY_GROUP_IDS: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    ),
  AWS_REGION: z.string().default("us-east-1"),
  /** The local-vm provider (QEMU on this host): auto is on when the guest image is built and QEMU installed. */
  LOCAL_VM_PROVIDER: z.enum(["auto", "on", "off"]).default("auto"),
  LOCAL_VM_DIR: z.string().min(1).default(resolve(REPO, ".data/vms")),
  LOCAL_VM_IMAGE_DIR: z.string().min(1).default(resolve(REPO, ".data/guest/current")),
  /** The control API as guests reach it; default BERTH_API_URL with a loopback host made 10.0.2.2 (the host, seen from user-mode networking). */
  LOCAL_VM_API_URL: z.url().optional(),
  LOCAL_VM_ACCEL: z.enum(["auto", "kvm", "tcg"]).default("auto"),
  LOCAL_VM_PORT_BASE: z.coerce.number().int().min(1024).max(65000).default(42000),
  LOCAL_VM_PORTS_PER_VM: z.coerce.number().int().min(1).max(1000).default(20),
  LOCAL_VM_MAX_VMS: z.coerce.number().int().min(1).max(256).default(16),
  LOCAL_VM_MAX_MEMORY_MIB: z.coerce.number().int().min(512).max(1_048_576).default(2048),
  LOCAL_VM_SCRATCH_GIB: z.coerce.number().int().min(1).max(1024).default(8),
  LOCAL_VM_ZONE: z.string().min(1).max(63).default("local"),
  /** Tests only: kill -9 this process at the named crash point (see Deps.crashpoint). */
  BERTH_CRASH_AT: z.string().optional(),
  /** A job whose worker died is run again this long after its last sign of life (plus one stall check). */
  JOB_LOCK_SECONDS: z.coerce.number().int().min(2).max(600).default(30),
  JOB_STALLED_CHECK_SECONDS: z.coerce.number().int().min(1).max(600).default(10),
  /** Rotate the platform's access-token signing key once it is this old. */
  SIGNING_KEY_ROTATION_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 365)
    .default(24 * 7),
  RECONCILE_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** How often the metrics are rolled up (10 s → 1 min → 1 h) and pruned. */
  METRICS_ROLLUP_INTERVAL_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  /** Raw samples later than this after their minute may miss the minute's rollup. */
  METRICS_LATE_SECONDS: z.coerce.number().int().min(0).max(3_600).default(30),
  /** How often every HorizontalPodAutoscaler is evaluated (kube's sync period, 15 s). */
  HPA_SYNC_PERIOD_MS: z.coerce.number().int().min(500).max(600_000).default(15_000),
  /** How often the node autoscaler looks at every cluster with an autoscaled pool (its scan interval). */
  NODE_AUTOSCALER_INTERVAL_MS: z.coerce.number().int().min(500).max(600_000).default(10_000),
  /** How often every budget's actual and forecast spend is evaluated and its alerts fired. */
  BUDGETS_INTERVAL_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(300_000),
  /** How long one webhook delivery attempt may take (connection, request and answer). */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /** Deliver webhooks to loopback addresses (tests, local development only); private addresses never. */
  WEBHOOK_ALLOW_LOOPBACK: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
  /**
   * Berth's registry as image names give it (`127.0.0.1:55000`): tags of its images are pinned to
   * digests when a Deployment's revision is made. Unset: images are run as written.
   */
  REGISTRY_HOST: z
    .string()
    .optional()
    .superRefine((host, ctx) => {
      const problem = host === undefined ? null : registryHostProblem(host);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
  /** Where the provisioner reaches the registry (default `http://<REGISTRY_HOST>`). */
  REGISTRY_URL: z.url().optional(),
  /**
   * The registry's token signing key (PEM): the provisioner signs its own pull tokens with it.
   * Unset while REGISTRY_HOST is set: tags are not pinned (a warning at boot).
   */
  REGISTRY_TOKEN_KEY_FILE: registrySigningKeyFile,
  REGISTRY_SERVICE: z.string().min(1).max(255).default("berth-registry"),
  REGISTRY_TOKEN_ISSUER: z.string().min(1).max(255).default("berth"),
  /** How long resolving one tag may take before the revision is made with the tag. */
  REGISTRY_RESOLVE_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /** No scale while usage is within this ratio of the target. */
  HPA_TOLERANCE: z.coerce.number().min(0).max(1).default(0.1),
  /** A pod's usage is averaged over its samples of this last window; without one it is missing. */
  HPA_METRICS_WINDOW_SECONDS: z.coerce.number().int().min(1).max(600).default(30),
});

export type Env = ParsedServerEnv<z.infer<typeof schema>>;

/** Parses the environment once at boot; a bad value stops the process with the variable's name. */
export function parseEnv(source: NodeJS.ProcessEnv = process.env): Env {
  return parseServerEnv(schema, source);
}

/** Parses the environment once at boot; a bad value stops the process with the variable's name. */
