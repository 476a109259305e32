import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestApi, type TestApi } from "@berth/control-api/testing";
import { systemRows } from "@berth/db/testing";
import { createEc2Emulator, type Ec2Emulator } from "@berth/ec2-emulator";
import { createEc2Provider, DEFAULT_EC2_INSTANCE_TYPES } from "@berth/provisioner/ec2";
import { createTestProvisionerDeps, startTestProvisioner } from "@berth/provisioner/testing";
import { serve } from "@hono/node-server";
import { sql } from "drizzle-orm";
import { containersOf, engine, hostPortBlock, ROOT } from "./support";

/**
 * A cloud on this machine: the control API listening on a real port (machines' agents call it),
 * and an EC2-compatible endpoint whose instances run their user-data — Berth's boot script — as
 * local processes. Nothing stands in for the agent: each instance installs the bundle the control
 * plane serves, with its installer (checksum verified), into a directory of its own.
 */
export interface Cloud {
  api: TestApi;
  apiUrl: string;
  ec2: Ec2Emulator;
  workDir: string;
  close(): Promise<void>;
}

export async function startCloud(
  /** `pendingMs`: how long an instance stays pending before it boots (real clouds take their time). */
  opts: { ignoreClientToken?: boolean; runUserData?: boolean; pendingMs?: number } = {},
): Promise<Cloud> {
  const workDir = await mkdtemp(join(tmpdir(), "berth-cloud-"));

  const api = await createTestApi();
  const server = serve({ fetch: api.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((ok) => server.once("listening", () => ok()));
  const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const portBase = hostPortBlock(250).min;
  const ec2 = await createEc2Emulator({
    workDir: join(workDir, "instances"),
    ignoreClientToken: opts.ignoreClientToken ?? false,
    runUserData: opts.runUserData ?? true,
    ...(opts.pendingMs !== undefined ? { pendingMs: opts.pendingMs } : {}),
    userDataEnv: ({ index }) => ({
      BERTH_AGENT_DIR: join(workDir, "agent", String(index)),
      // The installed agent lives outside the repository: it is told where this host's engine is.
      CONTAINER_HOST: process.env.CONTAINER_HOST ?? `unix://${ROOT}/.data/podman/podman.sock`,
      BERTH_NODE_ADDRESS: "127.0.0.1",
      BERTH_STATE_DIR: join(workDir, "state", String(index)),
      BERTH_PORT_RANGE: `${portBase + index * 10}-${portBase + index * 10 + 9}`,
      LOG_LEVEL: "warn",
    }),
  });
  return {
    api,
    apiUrl,
    ec2,
    workDir,
    async close() {
      await ec2.stop();
      // Instances' containers run under the host's engine, not inside the "machine": remove them.
      for (const i of ec2.instances()) {
        const nodeIds = (
          await systemRows(
            api.deps.db,
            sql`select node_id as id from machines where id = ${i.tags["berth:machine"] ?? ""} and node_id is not null`,
          )
        ).map((r) => String(r.id));
        for (const id of nodeIds)
          for (const c of await containersOf(id, { all: true }))
            await engine("DELETE", `/containers/${c.Id}?force=true`);
      }
      await new Promise<void>((ok) => server.close(() => ok()));
      await api.close();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

export const EC2_ENV = (cloud: Cloud) => ({
  EC2_ENDPOINT: cloud.ec2.url,
  EC2_AMI_ID: "ami-0123456789abcdef0",
  EC2_SUBNET_ID: "subnet-0123456789abcdef0",
  EC2_SECURITY_GROUP_IDS: "sg-0123456789abcdef0",
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "test",
  AWS_SECRET_ACCESS_KEY: "test",
});

/** The provisioner's workers in this process, their ec2 provider on the cloud's endpoint (the real SDK). */
export async function startCloudProvisioner(
  cloud: Cloud,
  timings: Parameters<typeof createTestProvisionerDeps>[0]["timings"] = {},
): Promise<() => Promise<void>> {
  const env = EC2_ENV(cloud);
  const workers = await startTestProvisioner(
    createTestProvisionerDeps({
      db: cloud.api.deps.db,
      redis: cloud.api.deps.redis,
      queues: cloud.api.deps.queues,
      master: cloud.api.deps.master,
      providers: {
        ec2: createEc2Provider({
          endpoint: env.EC2_ENDPOINT,
          region: env.AWS_REGION,
          amiId: env.EC2_AMI_ID,
          subnetId: env.EC2_SUBNET_ID,
          securityGroupIds: [env.EC2_SECURITY_GROUP_IDS],
          instanceTypes: DEFAULT_EC2_INSTANCE_TYPES,
          credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
        }),
      },
      apiUrl: cloud.apiUrl,
      timings,
    }),
  );
  return () => workers.stop();
}
