import type { Instance } from "./store";
import { type InstanceStateName, STATE_CODES } from "./types";
import { el, items, seq, type Xml } from "./xml";

/** The account id every emulated resource belongs to (the documentation's example account). */
export const OWNER_ID = "123456789012";
/** Every instance runs on this machine, so this is its private address. */
export const PRIVATE_IP = "127.0.0.1";

export function stateXml(state: InstanceStateName): Xml {
  return seq(el("code", STATE_CODES[state]), el("name", state));
}

function privateDnsName(availabilityZone: string): string {
  const region = availabilityZone.slice(0, -1);
  const host = `ip-${PRIVATE_IP.replaceAll(".", "-")}`;
  return region === "us-east-1" ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}

/** One `instancesSet` item, with the fields EC2 sends for an EBS-backed HVM Linux instance. */
export function instanceXml(i: Instance): Xml {
  return seq(
    el("instanceId", i.instanceId),
    el("imageId", i.imageId),
    el("instanceState", stateXml(i.state)),
    el("privateDnsName", privateDnsName(i.availabilityZone)),
    el("dnsName", ""),
    el("reason", i.stateTransitionReason),
    el("amiLaunchIndex", i.amiLaunchIndex),
    el("productCodes", ""),
    el("instanceType", i.instanceType),
    el("launchTime", i.launchTime),
    el(
      "placement",
      seq(el("availabilityZone", i.availabilityZone), el("groupName", ""), el("tenancy", "default")),
    ),
    el("monitoring", el("state", "disabled")),
    el("subnetId", i.subnetId),
    el("privateIpAddress", PRIVATE_IP),
    el("sourceDestCheck", true),
    items("groupSet", i.securityGroupIds, (id) => seq(el("groupId", id), el("groupName", id))),
    el(
      "stateReason",
      i.stateReason && seq(el("code", i.stateReason.code), el("message", i.stateReason.message)),
    ),
    el("architecture", "x86_64"),
    el("rootDeviceType", "ebs"),
    el("rootDeviceName", "/dev/xvda"),
    el("blockDeviceMapping", ""),
    el("virtualizationType", "hvm"),
    el("clientToken", i.clientToken ?? ""),
    i.tags.size === 0
      ? seq()
      : items("tagSet", [...i.tags], ([key, value]) => seq(el("key", key), el("value", value))),
    el("hypervisor", "xen"),
    el("networkInterfaceSet", ""),
    el("ebsOptimized", false),
    el("enaSupport", true),
    el("platformDetails", "Linux/UNIX"),
  );
}

/** A reservation as RunInstances returns it and DescribeInstances lists it. */
export function reservationXml(reservationId: string, instances: readonly Instance[]): Xml {
  return seq(
    el("reservationId", reservationId),
    el("ownerId", OWNER_ID),
    el("groupSet", ""),
    items("instancesSet", instances, instanceXml),
  );
}
