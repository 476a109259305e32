import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Ec2Error } from "./errors";
import type { TagParam } from "./params";
import type { EmulatedInstance } from "./types";

/** The mutable record behind an `EmulatedInstance` snapshot. */
export interface Instance extends Omit<EmulatedInstance, "tags"> {
  tags: Map<string, string>;
  userDataBytes: Buffer | undefined;
}

/** What one RunInstances call asks for, parsed and validated. */
export interface LaunchSpec {
  imageId: string;
  instanceType: string;
  minCount: number;
  maxCount: number;
  availabilityZone: string;
  subnetId: string | undefined;
  securityGroupIds: string[];
  clientToken: string | undefined;
  userData: Buffer | undefined;
  tags: TagParam[];
  /** Every request parameter but the client token, to detect IdempotentParameterMismatch. */
  fingerprint: string;
}

export interface Launch {
  reservationId: string;
  instances: Instance[];
  /** False when a repeated client token returned an earlier launch. */
  created: boolean;
}

const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

const hexId = (prefix: string) => `${prefix}-${randomBytes(9).toString("hex").slice(0, 17)}`;

/** Every instance ever launched (nothing is persisted), and the client tokens seen. */
export class InstanceStore {
  private readonly byId = new Map<string, Instance>();
  private readonly byToken = new Map<string, { fingerprint: string; reservationId: string; ids: string[] }>();
  private launched = 0;

  constructor(
    private readonly options: { workDir: string; ignoreClientToken: boolean; instanceLimit: number },
  ) {}

  /**
   * Launches up to `spec.maxCount` instances in "pending", or, for a client token seen before with the same
   * parameters, returns that launch again (EC2 keeps tokens at least 24 h past termination).
   */
  launch(spec: LaunchSpec): Launch {
    const token = this.options.ignoreClientToken ? undefined : spec.clientToken;
    const earlier = token === undefined ? undefined : this.byToken.get(token);
    if (earlier !== undefined) {
      if (earlier.fingerprint !== spec.fingerprint) {
        throw new Ec2Error(
          "IdempotentParameterMismatch",
          "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).",
        );
      }
      return { reservationId: earlier.reservationId, instances: this.require(earlier.ids), created: false };
    }
    const live = this.all().filter((i) => i.state !== "terminated").length;
    const count = Math.min(spec.maxCount, this.options.instanceLimit - live);
    if (count < spec.minCount) {
      throw new Ec2Error(
        "InstanceLimitExceeded",
        `You have requested more instances (${live + spec.minCount}) than your current instance limit of ${this.options.instanceLimit} allows.`,
      );
    }
    const reservationId = hexId("r");
    const launchTime = new Date();
    launchTime.setMilliseconds(0); // EC2 reports launch times to the second
    const instances: Instance[] = [];
    for (let amiLaunchIndex = 0; amiLaunchIndex < count; amiLaunchIndex++) {
      const instanceId = hexId("i");
      const instance: Instance = {
        instanceId,
        reservationId,
        index: this.launched++,
        amiLaunchIndex,
        imageId: spec.imageId,
        instanceType: spec.instanceType,
        availabilityZone: spec.availabilityZone,
        subnetId: spec.subnetId,
        securityGroupIds: [...spec.securityGroupIds],
        clientToken: spec.clientToken,
        launchTime,
        state: "pending",
        stateReason: { code: "pending", message: "pending" },
        stateTransitionReason: "",
        tags: new Map(spec.tags.map((t) => [t.key, t.value])),
        userData: spec.userData?.toString("utf8"),
        userDataBytes: spec.userData,
        dir: join(this.options.workDir, instanceId),
        userDataRun: undefined,
      };
      this.byId.set(instanceId, instance);
      instances.push(instance);
    }
    if (token !== undefined) {
      this.byToken.set(token, {
        fingerprint: spec.fingerprint,
        reservationId,
        ids: instances.map((i) => i.instanceId),
      });
    }
    return { reservationId, instances, created: true };
  }

  get(instanceId: string): Instance | undefined {
    return this.byId.get(instanceId);
  }

  /** The named instances, or EC2's Malformed / NotFound error naming every bad id. */
  require(instanceIds: readonly string[]): Instance[] {
    const malformed = instanceIds.filter((id) => !INSTANCE_ID.test(id));
    if (malformed.length > 0) {
      throw new Ec2Error("InvalidInstanceID.Malformed", `Invalid id: "${malformed[0]}"`);
    }
    const missing = instanceIds.filter((id) => !this.byId.has(id));
    if (missing.length === 1) {
      throw new Ec2Error("InvalidInstanceID.NotFound", `The instance ID '${missing[0]}' does not exist`);
    }
    if (missing.length > 1) {
      throw new Ec2Error(
        "InvalidInstanceID.NotFound",
        `The instance IDs '${missing.join(", ")}' do not exist`,
      );
    }
    return [...new Set(instanceIds)].flatMap((id) => this.byId.get(id) ?? []);
  }

  /** Every instance in launch order, terminated ones included. */
  all(): Instance[] {
    return [...this.byId.values()];
  }
}

export function snapshot(i: Instance): EmulatedInstance {
  const { userDataBytes: _bytes, tags, ...rest } = i;
  return {
    ...rest,
    launchTime: new Date(i.launchTime),
    securityGroupIds: [...i.securityGroupIds],
    stateReason: i.stateReason && { ...i.stateReason },
    tags: Object.fromEntries(tags),
    userDataRun: i.userDataRun && { ...i.userDataRun, startedAt: new Date(i.userDataRun.startedAt) },
  };
}
