import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestApi, type TestApi } from "@berth/control-api/testing";
import { createEc2Emulator, type Ec2Emulator } from "@berth/ec2-emulator";
import { createEc2Provider, DEFAULT_EC2_INSTANCE_TYPES } from "@berth/provisioner/ec2";
import { createTestProvisionerDeps, startTestProvisioner } from "@berth/provisioner/testing";

/** The API and a provisioner whose ec2 provider talks to the EC2 emulator (no agents run). */
export interface Ec2Platform {
  api: TestApi;
  ec2: Ec2Emulator;
  /** Where the emulator keeps each instance's files (its user-data). */
  workDir: string;
  /** The provider's options, to make another provider against the same emulator. */
  providerOptions(): Parameters<typeof createEc2Provider>[0];
  close(): Promise<void>;
}

export async function startEc2Platform(opts: { region: string; amiId: string }): Promise<Ec2Platform> {
  const workDir = await mkdtemp(join(tmpdir(), "berth-ec2-"));
  const ec2 = await createEc2Emulator({ workDir, runUserData: false });
  const api = await createTestApi();
  const providerOptions = () => ({
    endpoint: ec2.url,
    region: opts.region,
    amiId: opts.amiId,
    securityGroupIds: [],
    instanceTypes: DEFAULT_EC2_INSTANCE_TYPES,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  const workers = await startTestProvisioner(
    createTestProvisionerDeps({
      db: api.deps.db,
      redis: api.deps.redis,
      queues: api.deps.queues,
      master: api.deps.master,
      providers: { ec2: createEc2Provider(providerOptions()) },
    }),
  );
  return {
    api,
    ec2,
    workDir,
    providerOptions,
    async close() {
      await workers.stop();
      await ec2.stop();
      await api.close();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` every 100 ms until it returns something truthy (that), or fails after `ms`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | false | undefined>, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
