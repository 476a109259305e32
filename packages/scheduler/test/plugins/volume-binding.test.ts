import { describe, expect, it } from "vitest";
import { schedule } from "../../src/index";
import { NO_ATTACHABLE_DISKS, VOLUME_NODE_CONFLICT, volumeBinding } from "../../src/plugins/volume-binding";
import { node, pod, verdict } from "../fixtures";

describe("VolumeBinding filter", () => {
  it("has nothing to say about a pod without claims, on any node", () => {
    expect(verdict(volumeBinding, pod("p"), node("n"))).toBe("skipped");
  });

  it("keeps a pod with a claim off nodes that cannot attach disks", () => {
    const p = pod("p", { volumeClaims: [{ name: "data" }] });
    expect(verdict(volumeBinding, p, node("podman"))).toBe(NO_ATTACHABLE_DISKS);
    expect(verdict(volumeBinding, p, node("vm", { attachableDisks: true }))).toBeNull();
  });

  it("pins a pod to the node its claim's disk is attached to", () => {
    const p = pod("p", { volumeClaims: [{ name: "data", attachedNodeId: "vm-a" }] });
    expect(verdict(volumeBinding, p, node("vm-a", { attachableDisks: true }))).toBeNull();
    expect(verdict(volumeBinding, p, node("vm-b", { attachableDisks: true }))).toBe(VOLUME_NODE_CONFLICT);
  });

  it("keeps a pod whose claim is missing off every node, saying why", () => {
    const problem = 'persistentvolumeclaim "data" not found';
    const p = pod("p", { volumeClaims: [{ name: "data", problem }] });
    expect(verdict(volumeBinding, p, node("vm", { attachableDisks: true }))).toBe(problem);
  });

  it("leaves the pod pending with a reason naming every node's rejection", () => {
    const plan = schedule(
      { nodes: [node("a"), node("b")], pods: [] },
      { pending: [pod("p", { volumeClaims: [{ name: "data" }] })] },
    );
    expect(plan.placements).toEqual([]);
    expect(plan.unschedulable[0]?.reason).toBe(`0/2 nodes are available: 2 ${NO_ATTACHABLE_DISKS}.`);
    const placed = schedule(
      { nodes: [node("a"), node("b", { attachableDisks: true })], pods: [] },
      { pending: [pod("p", { volumeClaims: [{ name: "data" }] })] },
    );
    expect(placed.placements.map((x) => x.nodeId)).toEqual(["b"]);
  });
});
