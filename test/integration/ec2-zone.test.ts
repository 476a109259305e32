import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEc2Emulator, type Ec2Emulator } from "@berth/ec2-emulator";
import { createEc2Provider, DEFAULT_EC2_INSTANCE_TYPES } from "@berth/provisioner/ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** An ec2 machine's zone (its node's `topology.kubernetes.io/zone`) is the one EC2 put it in. */
let ec2: Ec2Emulator;
let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "berth-zone-"));
  ec2 = await createEc2Emulator({ workDir, runUserData: false });
});
afterAll(async () => {
  await ec2?.stop();
  await rm(workDir, { recursive: true, force: true });
});

describe("the ec2 provider", () => {
  it("reports the availability zone of the instance it launches, and again when it adopts it", async () => {
    const provider = createEc2Provider({
      endpoint: ec2.url,
      region: "eu-west-1",
      amiId: "ami-12345678",
      securityGroupIds: [],
      instanceTypes: DEFAULT_EC2_INSTANCE_TYPES,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const spec = {
      machineId: "m_zone1",
      tenantId: "tenant_1",
      clusterId: "cluster_1",
      poolId: "np_1",
      instanceType: "small" as const,
      userData: "#!/bin/sh\n",
    };
    const launched = await provider.create(spec);
    expect(launched.zone).toBe("eu-west-1a");
    expect((await provider.describe(launched.instanceId))?.zone).toBe("eu-west-1a");
    // A retried launch finds the tagged instance, with the same zone.
    expect(await provider.create(spec)).toEqual(launched);
  });
});
