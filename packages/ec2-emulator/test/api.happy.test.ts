import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  type DescribeInstancesCommandInput,
  DescribeTagsCommand,
  type Instance,
  paginateDescribeInstances,
  RunInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceTerminated,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startEmulator, waitFor } from "./helpers";

let h: Harness;
beforeAll(async () => {
  h = await startEmulator({ runUserData: false });
});
afterAll(() => h.close());

const ids = (instances: Instance[] | undefined) => (instances ?? []).map((i) => i.InstanceId);
const describeAll = async (input: DescribeInstancesCommandInput) => {
  const out = await h.ec2.send(new DescribeInstancesCommand(input));
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
};

describe("the instance lifecycle through the real SDK", () => {
  it("launches, finds by id, tag and state, tags, and terminates an instance", async () => {
    const run = await h.ec2.send(
      new RunInstancesCommand({
        ImageId: "ami-0123456789abcdef0",
        InstanceType: "t3.small",
        MinCount: 1,
        MaxCount: 1,
        SubnetId: "subnet-1",
        SecurityGroupIds: ["sg-a", "sg-b"],
        TagSpecifications: [
          { ResourceType: "instance", Tags: [{ Key: "berth:pool", Value: "np_lifecycle" }] },
        ],
      }),
    );
    const launched = run.Instances?.[0];
    expect(run.ReservationId).toMatch(/^r-[0-9a-f]{17}$/);
    expect(launched).toMatchObject({
      ImageId: "ami-0123456789abcdef0",
      InstanceType: "t3.small",
      State: { Code: 0, Name: "pending" },
      PrivateIpAddress: "127.0.0.1",
      SubnetId: "subnet-1",
      SecurityGroups: [{ GroupId: "sg-a" }, { GroupId: "sg-b" }],
      Tags: [{ Key: "berth:pool", Value: "np_lifecycle" }],
    });
    const id = launched?.InstanceId ?? "";
    expect(id).toMatch(/^i-[0-9a-f]{17}$/);
    expect(launched?.LaunchTime).toBeInstanceOf(Date);

    await waitUntilInstanceRunning({ client: h.ec2, maxWaitTime: 10, minDelay: 1 }, { InstanceIds: [id] });
    expect(ids(await describeAll({ InstanceIds: [id] }))).toEqual([id]);
    const byTag = await describeAll({ Filters: [{ Name: "tag:berth:pool", Values: ["np_lifecycle"] }] });
    expect(ids(byTag)).toEqual([id]);
    const byState = await describeAll({
      Filters: [
        { Name: "instance-state-name", Values: ["running"] },
        { Name: "tag-key", Values: ["berth:pool"] },
      ],
    });
    expect(ids(byState)).toEqual([id]);
    expect(await describeAll({ Filters: [{ Name: "tag:berth:pool", Values: ["other"] }] })).toEqual([]);

    await h.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: "Name", Value: "node-1" }] }));
    const [tagged] = await describeAll({ InstanceIds: [id] });
    expect(tagged?.Tags).toEqual([
      { Key: "berth:pool", Value: "np_lifecycle" },
      { Key: "Name", Value: "node-1" },
    ]);

    const term = await h.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(term.TerminatingInstances).toEqual([
      {
        InstanceId: id,
        PreviousState: { Code: 16, Name: "running" },
        CurrentState: { Code: 32, Name: "shutting-down" },
      },
    ]);
    await waitUntilInstanceTerminated({ client: h.ec2, maxWaitTime: 10, minDelay: 1 }, { InstanceIds: [id] });
    const [gone] = await describeAll({ Filters: [{ Name: "instance-id", Values: [id] }] });
    expect(gone?.State).toEqual({ Code: 48, Name: "terminated" });
    expect(gone?.StateReason?.Code).toBe("Client.UserInitiatedShutdown");

    const again = await h.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(again.TerminatingInstances?.[0]?.PreviousState?.Name).toBe("terminated");
    expect(again.TerminatingInstances?.[0]?.CurrentState?.Name).toBe("terminated");
  });

  it("matches filter values with EC2's * and ? wildcards and finds instances by client token", async () => {
    const run = await h.ec2.send(
      new RunInstancesCommand({
        ImageId: "ami-1",
        MinCount: 1,
        MaxCount: 1,
        ClientToken: "wildcard-token-1",
        TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "cluster", Value: "cl_abc123" }] }],
      }),
    );
    const id = run.Instances?.[0]?.InstanceId;
    expect(ids(await describeAll({ Filters: [{ Name: "tag:cluster", Values: ["cl_abc*"] }] }))).toEqual([id]);
    expect(ids(await describeAll({ Filters: [{ Name: "tag:cluster", Values: ["cl_abc12?"] }] }))).toEqual([
      id,
    ]);
    expect(
      ids(await describeAll({ Filters: [{ Name: "client-token", Values: ["wildcard-token-1"] }] })),
    ).toEqual([id]);
  });

  it("pages DescribeInstances with MaxResults and NextToken", async () => {
    await h.ec2.send(
      new RunInstancesCommand({
        ImageId: "ami-1",
        MinCount: 7,
        MaxCount: 7,
        TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "batch", Value: "paging" }] }],
      }),
    );
    const filter = [{ Name: "tag:batch", Values: ["paging"] }];
    const first = await h.ec2.send(new DescribeInstancesCommand({ Filters: filter, MaxResults: 5 }));
    expect(first.Reservations?.flatMap((r) => r.Instances ?? [])).toHaveLength(5);
    expect(first.NextToken).toBeTypeOf("string");
    const second = await h.ec2.send(
      new DescribeInstancesCommand({ Filters: filter, MaxResults: 5, NextToken: first.NextToken }),
    );
    expect(second.Reservations?.flatMap((r) => r.Instances ?? [])).toHaveLength(2);
    expect(second.NextToken).toBeUndefined();

    const seen: string[] = [];
    for await (const page of paginateDescribeInstances({ client: h.ec2, pageSize: 5 }, { Filters: filter })) {
      for (const r of page.Reservations ?? []) seen.push(...ids(r.Instances).flatMap((i) => i ?? []));
    }
    expect(new Set(seen).size).toBe(7);
    expect(seen).toHaveLength(7);
  });

  it("lists and deletes tags with DescribeTags and DeleteTags", async () => {
    const run = await h.ec2.send(
      new RunInstancesCommand({
        ImageId: "ami-1",
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [
          {
            ResourceType: "instance",
            Tags: [
              { Key: "keep", Value: "1" },
              { Key: "drop", Value: "2" },
            ],
          },
        ],
      }),
    );
    const id = run.Instances?.[0]?.InstanceId ?? "";
    const listed = await h.ec2.send(
      new DescribeTagsCommand({ Filters: [{ Name: "resource-id", Values: [id] }] }),
    );
    expect(listed.Tags).toEqual([
      { ResourceId: id, ResourceType: "instance", Key: "keep", Value: "1" },
      { ResourceId: id, ResourceType: "instance", Key: "drop", Value: "2" },
    ]);
    await h.ec2.send(new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: "drop" }] }));
    const [after] = await describeAll({ InstanceIds: [id] });
    expect(after?.Tags).toEqual([{ Key: "keep", Value: "1" }]);
  });

  it("reports running instances in DescribeInstanceStatus, and others only with IncludeAllInstances", async () => {
    // Its own emulator, pending for a second: two calls must fit in the pending window on a busy machine.
    const slow = await startEmulator({ runUserData: false, pendingMs: 1_000 });
    const run = await slow.ec2.send(new RunInstancesCommand({ ImageId: "ami-1", MinCount: 1, MaxCount: 1 }));
    const id = run.Instances?.[0]?.InstanceId ?? "";
    const pending = await slow.ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] }));
    expect(pending.InstanceStatuses).toEqual([]);
    const all = await slow.ec2.send(
      new DescribeInstanceStatusCommand({ InstanceIds: [id], IncludeAllInstances: true }),
    );
    expect(all.InstanceStatuses?.[0]?.InstanceState?.Name).toBe("pending");
    const running = await waitFor("the status of a running instance", async () => {
      const out = await slow.ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] }));
      return out.InstanceStatuses?.length === 1 && out;
    });
    await slow.close();
    expect(running.InstanceStatuses?.[0]).toMatchObject({
      InstanceId: id,
      InstanceState: { Name: "running" },
      InstanceStatus: { Status: "ok" },
      SystemStatus: { Status: "ok" },
    });
  });

  it("records every call with the parameters the SDK sent", () => {
    const run = h.emulator.calls().find((c) => c.action === "RunInstances");
    expect(run?.params).toMatchObject({
      Version: "2016-11-15",
      ImageId: "ami-0123456789abcdef0",
      MinCount: "1",
      MaxCount: "1",
      "SecurityGroupId.1": "sg-a",
      "SecurityGroupId.2": "sg-b",
      "TagSpecification.1.ResourceType": "instance",
      "TagSpecification.1.Tag.1.Key": "berth:pool",
    });
    // The SDK fills in ClientToken (an idempotency token) when the caller leaves it out.
    expect(run?.params.ClientToken).toMatch(/^[0-9a-f-]{36}$/);
  });
});
