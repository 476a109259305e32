import { EC2Client, RunInstancesCommand } from "@aws-sdk/client-ec2";
import { createEc2Provider, DEFAULT_EC2_INSTANCE_TYPES } from "@berth/provisioner/ec2";
import { sweepOrphans } from "@berth/provisioner/orphans";
import { createTestProvisionerDeps } from "@berth/provisioner/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cloud, startCloud } from "./cloud";
import { poll } from "./support";

let cloud: Cloud;
beforeAll(async () => {
  cloud = await startCloud({ runUserData: false });
}, 60_000);
afterAll(() => cloud?.close(), 60_000);

describe("the orphan sweeper", () => {
  it("terminates Berth-tagged instances nobody owns, and leaves other installations' alone", async () => {
    const { token } = await cloud.api.tenant("orphans");
    const cluster = await cloud.api.call("POST", "/v1/clusters", { token, body: { name: "c" } });
    const ec2 = new EC2Client({
      endpoint: cloud.ec2.url,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const launch = async (clusterId: string, machineId: string) =>
      (
        await ec2.send(
          new RunInstancesCommand({
            ImageId: "ami-0123456789abcdef0",
            MinCount: 1,
            MaxCount: 1,
            TagSpecifications: [
              {
                ResourceType: "instance",
                Tags: [
                  { Key: "berth:cluster", Value: clusterId },
                  { Key: "berth:machine", Value: machineId },
                ],
              },
            ],
          }),
        )
      ).Instances?.[0]?.InstanceId;
    const orphan = await launch(cluster.body.id, "m_nobodyhasthisone000000000");
    const foreign = await launch("cl_of_another_installation00", "m_theirs");
    await poll("running", async () => cloud.ec2.instances().every((i) => i.state === "running"));
    const provider = createEc2Provider({
      endpoint: cloud.ec2.url,
      region: "us-east-1",
      amiId: "ami-0123456789abcdef0",
      securityGroupIds: [],
      instanceTypes: DEFAULT_EC2_INSTANCE_TYPES,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const deps = createTestProvisionerDeps({
      db: cloud.api.deps.db,
      redis: cloud.api.deps.redis,
      queues: cloud.api.deps.queues,
      master: cloud.api.deps.master,
      providers: { ec2: provider },
    });
    expect(await sweepOrphans(deps)).toEqual({ checked: 2, terminated: 1 });
    await poll(
      "orphan terminated",
      async () => cloud.ec2.instances().find((i) => i.instanceId === orphan)?.state === "terminated",
    );
    expect(cloud.ec2.instances().find((i) => i.instanceId === foreign)?.state).toBe("running");
  });
});
