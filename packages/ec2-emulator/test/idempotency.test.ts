import {
  type _InstanceType,
  DescribeInstancesCommand,
  EC2ServiceException,
  RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import { afterEach, describe, expect, it } from "vitest";
import { type Harness, startEmulator } from "./helpers";

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((harness) => harness.close()));
});
/** A fresh emulator for one test, closed after it. */
const emulator = async (options: Parameters<typeof startEmulator>[0] = {}) => {
  const harness = await startEmulator(options);
  open.push(harness);
  return harness;
};

const launch = (token: string, instanceType: _InstanceType = "t3.micro") =>
  new RunInstancesCommand({
    ImageId: "ami-1",
    InstanceType: instanceType,
    MinCount: 1,
    MaxCount: 1,
    ClientToken: token,
  });

const count = async (harness: Harness, token: string) => {
  const out = await harness.ec2.send(
    new DescribeInstancesCommand({ Filters: [{ Name: "client-token", Values: [token] }] }),
  );
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).length;
};

describe("RunInstances ClientToken", () => {
  it("returns the same reservation and instance for a repeated token", async () => {
    const h = await emulator({ runUserData: false });
    const first = await h.ec2.send(launch("node-pool-np_1-scale-7"));
    const second = await h.ec2.send(launch("node-pool-np_1-scale-7"));
    expect(second.ReservationId).toBe(first.ReservationId);
    expect(second.Instances?.map((i) => i.InstanceId)).toEqual(first.Instances?.map((i) => i.InstanceId));
    expect(second.Instances?.[0]?.ClientToken).toBe("node-pool-np_1-scale-7");
    expect(await count(h, "node-pool-np_1-scale-7")).toBe(1);
    expect(h.emulator.instances()).toHaveLength(1);
    expect(h.emulator.calls().filter((c) => c.action === "RunInstances")).toHaveLength(2);
  });

  it("rejects a repeated token with other parameters as IdempotentParameterMismatch", async () => {
    const h = await emulator({ runUserData: false });
    await h.ec2.send(launch("tok-mismatch", "t3.micro"));
    const error = await h.ec2.send(launch("tok-mismatch", "t3.large")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EC2ServiceException);
    expect(error).toMatchObject({ name: "IdempotentParameterMismatch", $metadata: { httpStatusCode: 400 } });
    expect(h.emulator.instances()).toHaveLength(1);
  });

  it("launches twice for the same token when told to ignore client tokens", async () => {
    const h = await emulator({ runUserData: false, ignoreClientToken: true });
    const first = await h.ec2.send(launch("tok-ignored"));
    const second = await h.ec2.send(launch("tok-ignored"));
    expect(second.Instances?.[0]?.InstanceId).not.toBe(first.Instances?.[0]?.InstanceId);
    expect(await count(h, "tok-ignored")).toBe(2);
  });
});
