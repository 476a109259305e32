import { Ec2Error } from "../errors";
import { integer, list, members, optional, type Params, required, type TagParam, tags } from "../params";
import { reservationXml } from "../render";
import type { LaunchSpec } from "../store";
import type { ActionHandler } from "./context";

/** EC2's limit on user data, before base64 encoding. */
const USER_DATA_LIMIT = 16 * 1024;
const RESOURCE_TYPES = new Set(["instance", "volume", "network-interface", "spot-instances-request"]);

function userData(params: Params): Buffer | undefined {
  const encoded = optional(params, "UserData");
  if (encoded === undefined || encoded === "") return undefined;
  if (encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) {
    throw new Ec2Error("InvalidParameterValue", "Invalid BASE64 encoding of user data.");
  }
  const bytes = Buffer.from(encoded, "base64");
  if (bytes.length > USER_DATA_LIMIT) {
    throw new Ec2Error("InvalidParameterValue", `User data is limited to ${USER_DATA_LIMIT} bytes`);
  }
  return bytes;
}

/** `TagSpecification.N.ResourceType` / `.Tag.M.Key|Value`: the tags meant for the instances. */
function instanceTags(params: Params): TagParam[] {
  return members(params, "TagSpecification").flatMap((spec) => {
    const type = required(spec.params, "ResourceType", `${spec.path}.ResourceType`);
    if (!RESOURCE_TYPES.has(type)) {
      throw new Ec2Error(
        "InvalidParameterValue",
        `'${type}' is not a valid taggable resource type for this operation.`,
      );
    }
    const specTags = tags(spec.params, `${spec.path}.`);
    return type === "instance" ? specTags : []; // volumes and interfaces are not emulated
  });
}

function count(params: Params, name: string): number {
  required(params, name);
  return integer(params, name, { min: 1, max: 1000 }) ?? 1;
}

/**
 * RunInstances: launches MaxCount instances, or as many as `instanceLimit` leaves room for if
 * that is still at least MinCount (EC2's rule), each "pending" until it boots. A repeated ClientToken with the same parameters returns the
 * first launch; with other parameters it is IdempotentParameterMismatch, as in EC2.
 */
export const runInstances: ActionHandler = (ctx, params) => {
  const imageId = required(params, "ImageId");
  if (!/^ami-[0-9A-Za-z]+$/.test(imageId)) {
    throw new Ec2Error("InvalidAMIID.Malformed", `Invalid id: "${imageId}" (expecting "ami-...")`);
  }
  const minCount = count(params, "MinCount");
  const maxCount = count(params, "MaxCount");
  if (minCount > maxCount) {
    throw new Ec2Error(
      "InvalidParameterValue",
      `MinCount (${minCount}) must be less than or equal to MaxCount (${maxCount})`,
    );
  }
  const clientToken = optional(params, "ClientToken");
  if (clientToken !== undefined && (clientToken.length > 64 || !/^[\x20-\x7e]*$/.test(clientToken))) {
    throw new Ec2Error("InvalidParameterValue", "ClientToken must be at most 64 ASCII characters");
  }
  const fingerprint = JSON.stringify(
    Object.entries(params)
      .filter(([key]) => key !== "ClientToken" && key !== "Action" && key !== "Version")
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  const spec: LaunchSpec = {
    imageId,
    instanceType: optional(params, "InstanceType") ?? "m1.small",
    minCount,
    maxCount,
    availabilityZone: `${ctx.region}a`,
    subnetId: optional(params, "SubnetId"),
    securityGroupIds: list(params, "SecurityGroupId"),
    clientToken,
    userData: userData(params),
    tags: instanceTags(params),
    fingerprint,
  };
  const launch = ctx.store.launch(spec);
  if (launch.created) for (const instance of launch.instances) ctx.lifecycle.boot(instance);
  return reservationXml(launch.reservationId, launch.instances);
};
