import {
  DescribeInstancesCommand,
  EC2Client,
  type Filter,
  type Instance,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { BerthError, type InstanceType } from "@berth/core";
import { type InstanceState, LIVE_STATES, type MachineProvider, type ProviderInstance, TAG } from "./types";

export interface Ec2Options {
  /** An EC2-compatible endpoint (tests, emulators); AWS's own when unset. */
  endpoint?: string | undefined;
  region: string;
  amiId: string;
  subnetId?: string | undefined;
  securityGroupIds: string[];
  /** Berth sizes → EC2 instance types. */
  instanceTypes: Record<InstanceType, string>;
  /** Credentials come from the SDK's default chain unless given (tests). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export const DEFAULT_EC2_INSTANCE_TYPES: Record<InstanceType, string> = {
  small: "t3.medium", // 2 vCPU, 4 GiB
  medium: "c6i.xlarge", // 4 vCPU, 8 GiB
  large: "c6i.2xlarge", // 8 vCPU, 16 GiB
  gpu: "g4dn.xlarge", // 4 vCPU, 16 GiB, one NVIDIA T4
};

function tagOf(i: Instance, key: string): string | null {
  return i.Tags?.find((t) => t.Key === key)?.Value ?? null;
}

function toInstance(i: Instance): ProviderInstance {
  return {
    instanceId: i.InstanceId ?? "",
    machineId: tagOf(i, TAG.machine),
    clusterId: tagOf(i, TAG.cluster),
    state: (i.State?.Name ?? "pending") as InstanceState,
    zone: i.Placement?.AvailabilityZone,
  };
}

/** SDK errors that mean "try again later" (throttling, 5xx, network), as opposed to a request that can never work. */
function wrap(error: unknown, what: string): BerthError {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const status = e.$metadata?.httpStatusCode ?? 0;
  const retryable =
    status === 0 ||
    status >= 500 ||
    status === 429 ||
    e.$retryable !== undefined ||
    /Throttl|RequestLimitExceeded|InsufficientInstanceCapacity/.test(e.name ?? "");
  return new BerthError(
    retryable ? "UNAVAILABLE" : "VALIDATION_FAILED",
    `EC2 ${what} failed: ${e.name ?? "error"}: ${(error as Error).message}`,
    { retryable, cause: error },
  );
}

/**
 * Machines as EC2 instances. Launching is guarded twice against duplicates: the machine id is
 * RunInstances' ClientToken (EC2 returns the same instance for a retried launch), and, for
 * endpoints that ignore ClientToken, an instance tagged with the machine id is looked up first.
 */
export function createEc2Provider(opts: Ec2Options): MachineProvider {
  const client = new EC2Client({
    region: opts.region,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    maxAttempts: 3,
  });

  async function describe(filters: Filter[], instanceIds?: string[]): Promise<ProviderInstance[]> {
    const out: ProviderInstance[] = [];
    let NextToken: string | undefined;
    do {
      const r = await client
        .send(
          new DescribeInstancesCommand({
            Filters: filters,
            ...(instanceIds ? { InstanceIds: instanceIds } : { MaxResults: 500 }),
            NextToken,
          }),
        )
        .catch((e: unknown) => {
          throw wrap(e, "DescribeInstances");
        });
      for (const res of r.Reservations ?? []) for (const i of res.Instances ?? []) out.push(toInstance(i));
      NextToken = r.NextToken;
    } while (NextToken);
    return out;
  }

  return {
    name: "ec2",
    async create(spec) {
      const existing = (await describe([{ Name: `tag:${TAG.machine}`, Values: [spec.machineId] }])).find(
        (i) => LIVE_STATES.includes(i.state),
      );
      // The subnet's availability zone, as EC2 reports it; the region's first zone when it does not say.
      const zoneOf = (zone: string | undefined) => zone || `${opts.region}a`;
      if (existing) return { instanceId: existing.instanceId, zone: zoneOf(existing.zone) };
      const tags = [
        { Key: TAG.tenant, Value: spec.tenantId },
        { Key: TAG.cluster, Value: spec.clusterId },
        { Key: TAG.pool, Value: spec.poolId },
        { Key: TAG.machine, Value: spec.machineId },
        { Key: "Name", Value: `berth-${spec.machineId}` },
      ];
      const r = await client
        .send(
          new RunInstancesCommand({
            ImageId: opts.amiId,
            InstanceType: opts.instanceTypes[spec.instanceType] as never,
            MinCount: 1,
            MaxCount: 1,
            ClientToken: spec.machineId,
            UserData: Buffer.from(spec.userData).toString("base64"),
            ...(opts.subnetId ? { SubnetId: opts.subnetId } : {}),
            ...(opts.securityGroupIds.length > 0 ? { SecurityGroupIds: opts.securityGroupIds } : {}),
            TagSpecifications: [{ ResourceType: "instance", Tags: tags }],
            MetadataOptions: { HttpTokens: "required" },
          }),
        )
        .catch((e: unknown) => {
          throw wrap(e, "RunInstances");
        });
      const instanceId = r.Instances?.[0]?.InstanceId;
      if (!instanceId)
        throw new BerthError("UNAVAILABLE", "EC2 RunInstances returned no instance", { retryable: true });
      return { instanceId, zone: zoneOf(r.Instances?.[0]?.Placement?.AvailabilityZone) };
    },
    async describe(instanceId) {
      try {
        return (await describe([], [instanceId]))[0] ?? null;
      } catch (error) {
        if (/InvalidInstanceID\.NotFound/.test(String((error as BerthError).message))) return null;
        throw error;
      }
    },
    async terminate(instanceId) {
      await client.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] })).catch((e: unknown) => {
        if (/InvalidInstanceID\.NotFound/.test((e as { name?: string }).name ?? "")) return;
        throw wrap(e, "TerminateInstances");
      });
    },
    listOwned(filter) {
      return describe(
        filter.clusterId
          ? [{ Name: `tag:${TAG.cluster}`, Values: [filter.clusterId] }]
          : [{ Name: "tag-key", Values: [TAG.cluster] }],
      );
    },
  };
}
