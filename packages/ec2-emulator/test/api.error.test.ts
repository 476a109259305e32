import {
  DescribeInstancesCommand,
  EC2ServiceException,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startEmulator } from "./helpers";

let h: Harness;
beforeAll(async () => {
  h = await startEmulator({ runUserData: false, instanceLimit: 10 });
});
afterAll(() => h.close());

/** The SDK's exception for a call, or a failure if the call succeeded. */
async function sdkError(promise: Promise<unknown>): Promise<EC2ServiceException> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EC2ServiceException) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

/** A raw Query API request, for what the SDK would never send. */
async function raw(form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(h.emulator.url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: await res.text() };
}

const SIGNED = {
  authorization:
    "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, " +
    `Signature=${"0".repeat(64)}`,
};

describe("EC2 errors, as the SDK surfaces them", () => {
  it("throws InvalidInstanceID.NotFound for an unknown instance id", async () => {
    const error = await sdkError(
      h.ec2.send(new DescribeInstancesCommand({ InstanceIds: ["i-0123456789abcdef0"] })),
    );
    expect(error.name).toBe("InvalidInstanceID.NotFound");
    expect(error.message).toBe("The instance ID 'i-0123456789abcdef0' does not exist");
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.$fault).toBe("client");
    expect(error.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("terminates nothing when one of the ids is unknown", async () => {
    const run = await h.ec2.send(new RunInstancesCommand({ ImageId: "ami-1", MinCount: 1, MaxCount: 1 }));
    const id = run.Instances?.[0]?.InstanceId ?? "";
    const error = await sdkError(
      h.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id, "i-0000000000000000f"] })),
    );
    expect(error.name).toBe("InvalidInstanceID.NotFound");
    expect(h.emulator.instances().find((i) => i.instanceId === id)?.state).not.toBe("shutting-down");
  });

  it("throws InvalidInstanceID.Malformed for an id that is not an instance id", async () => {
    const error = await sdkError(h.ec2.send(new DescribeInstancesCommand({ InstanceIds: ["web-1"] })));
    expect(error.name).toBe("InvalidInstanceID.Malformed");
  });

  it("rejects MaxResults together with instance ids, and outside 5..1000", async () => {
    const both = await sdkError(
      h.ec2.send(new DescribeInstancesCommand({ InstanceIds: ["i-0123456789abcdef0"], MaxResults: 5 })),
    );
    expect(both.name).toBe("InvalidParameterCombination");
    const small = await sdkError(h.ec2.send(new DescribeInstancesCommand({ MaxResults: 2 })));
    expect(small.name).toBe("InvalidParameterValue");
  });

  it("rejects an unknown filter and a forged NextToken", async () => {
    const filter = await sdkError(
      h.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: "no-such-filter", Values: ["x"] }] })),
    );
    expect(filter.name).toBe("InvalidParameterValue");
    expect(filter.message).toBe("The filter 'no-such-filter' is invalid");
    const token = await sdkError(
      h.ec2.send(new DescribeInstancesCommand({ MaxResults: 5, NextToken: "bogus" })),
    );
    expect(token.name).toBe("InvalidPaginationToken");
  });

  it("rejects a malformed AMI id, MinCount above MaxCount, and user data that is not base64", async () => {
    const ami = await sdkError(
      h.ec2.send(new RunInstancesCommand({ ImageId: "ubuntu", MinCount: 1, MaxCount: 1 })),
    );
    expect(ami.name).toBe("InvalidAMIID.Malformed");
    const counts = await sdkError(
      h.ec2.send(new RunInstancesCommand({ ImageId: "ami-1", MinCount: 3, MaxCount: 2 })),
    );
    expect(counts.name).toBe("InvalidParameterValue");
    const userData = await sdkError(
      h.ec2.send(
        new RunInstancesCommand({ ImageId: "ami-1", MinCount: 1, MaxCount: 1, UserData: "#!/bin/sh" }),
      ),
    );
    expect(userData.message).toBe("Invalid BASE64 encoding of user data.");
  });

  it("answers DryRun with DryRunOperation and launches nothing", async () => {
    const before = h.emulator.instances().length;
    const dry = await sdkError(
      h.ec2.send(new RunInstancesCommand({ ImageId: "ami-1", MinCount: 1, MaxCount: 1, DryRun: true })),
    );
    expect(dry.name).toBe("DryRunOperation");
    expect(dry.$metadata.httpStatusCode).toBe(412);
    expect(h.emulator.instances()).toHaveLength(before);
  });

  it("refuses launches beyond the instance limit with InstanceLimitExceeded", async () => {
    const error = await sdkError(
      h.ec2.send(new RunInstancesCommand({ ImageId: "ami-1", MinCount: 50, MaxCount: 50 })),
    );
    expect(error.name).toBe("InstanceLimitExceeded");
  });
});

describe("EC2's XML error envelope on the wire", () => {
  it("answers a request without a SigV4 Authorization header with AuthFailure", async () => {
    const res = await raw({ Action: "DescribeInstances", Version: "2016-11-15" });
    expect(res.status).toBe(401);
    expect(res.body).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>AuthFailure<\/Code><Message>[^<]+<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/,
    );
  });

  it("answers a signature scoped to another service with AuthFailure", async () => {
    const s3 = SIGNED.authorization.replace("/ec2/", "/s3/");
    const res = await raw({ Action: "DescribeInstances", Version: "2016-11-15" }, { authorization: s3 });
    expect(res.status).toBe(401);
    expect(res.body).toContain("<Code>AuthFailure</Code>");
  });

  it("answers an unknown action with InvalidAction", async () => {
    const res = await raw({ Action: "LaunchRocket", Version: "2016-11-15" }, SIGNED);
    expect(res.status).toBe(400);
    expect(res.body).toContain("<Code>InvalidAction</Code>");
    expect(res.body).toContain("The action LaunchRocket is not valid for this web service.");
  });

  it("answers missing and malformed parameters with MissingParameter and InvalidParameterValue", async () => {
    const missing = await raw(
      { Action: "RunInstances", Version: "2016-11-15", MinCount: "1", MaxCount: "1" },
      SIGNED,
    );
    expect(missing.status).toBe(400);
    expect(missing.body).toContain(
      "<Code>MissingParameter</Code><Message>The request must contain the parameter ImageId</Message>",
    );
    const noName = await raw(
      { Action: "DescribeInstances", Version: "2016-11-15", "Filter.1.Value.1": "x" },
      SIGNED,
    );
    expect(noName.body).toContain("The request must contain the parameter Filter.1.Name");
    const notNumber = await raw(
      { Action: "RunInstances", Version: "2016-11-15", ImageId: "ami-1", MinCount: "one", MaxCount: "1" },
      SIGNED,
    );
    expect(notNumber.body).toContain("<Code>InvalidParameterValue</Code>");
    const terminateNothing = await raw({ Action: "TerminateInstances", Version: "2016-11-15" }, SIGNED);
    expect(terminateNothing.body).toContain("The request must contain the parameter InstanceId");
  });

  it("answers another API version with NoSuchVersion and a missing Action with MissingParameter", async () => {
    const version = await raw({ Action: "DescribeInstances", Version: "2014-01-01" }, SIGNED);
    expect(version.body).toContain("<Code>NoSuchVersion</Code>");
    const action = await raw({ Version: "2016-11-15" }, SIGNED);
    expect(action.body).toContain("The request must contain the parameter Action");
  });

  it("replies in EC2's 2016-11-15 namespace", async () => {
    const res = await raw(
      { Action: "DescribeInstances", Version: "2016-11-15", "InstanceId.1": "i-0123456789abcdef0" },
      SIGNED,
    );
    expect(res.status).toBe(400);
    const ok = await raw({ Action: "DescribeTags", Version: "2016-11-15" }, SIGNED);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<DescribeTagsResponse xmlns="http:\/\/ec2.amazonaws.com\/doc\/2016-11-15\/"><requestId>[0-9a-f-]{36}<\/requestId>/,
    );
  });
});
