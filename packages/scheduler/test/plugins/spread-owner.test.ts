import { describe, expect, it } from "vitest";
import { spreadOwner } from "../../src/plugins/spread-owner";
import { bound, node, pod, scores } from "../fixtures";

const nodes = [node("n1"), node("n2"), node("n3")];

describe("SpreadOwner scorer", () => {
  it("scores fewer replicas of the same owner higher (busiest 0, none 100)", () => {
    const pods = [
      bound("b1", "n1", { ownerId: "dep" }),
      bound("b2", "n1", { ownerId: "dep" }),
      bound("b3", "n2", { ownerId: "dep" }),
      bound("b4", "n3", { ownerId: "other" }),
    ];
    expect(scores(spreadOwner, pod("p", { ownerId: "dep" }), nodes, pods)).toEqual([0, 50, 100]);
  });

  it.each([
    { name: "pods without an owner", p: pod("p"), pods: [bound("b", "n1", { ownerId: "dep" })] },
    {
      name: "an owner with no pods yet",
      p: pod("p", { ownerId: "dep" }),
      pods: [bound("b", "n1", { ownerId: "x" })],
    },
    {
      name: "the same owner id in another tenant",
      p: pod("p", { ownerId: "dep", tenantId: "ten_b" }),
      pods: [bound("b", "n1", { ownerId: "dep" })],
    },
    {
      name: "pods without an owner, next to pods whose owner is named 'undefined'",
      p: pod("p"),
      pods: [bound("b", "n1", { ownerId: "undefined" })],
    },
    {
      name: "an owner named 'undefined' next to pods without an owner",
      p: pod("p", { ownerId: "undefined" }),
      pods: [bound("b", "n1")],
    },
    {
      name: "the same owner id in another namespace",
      p: pod("p", { ownerId: "dep", namespace: "prod" }),
      pods: [bound("b", "n1", { ownerId: "dep" })],
    },
  ])("is skipped for $name", ({ p, pods }) => {
    expect(scores(spreadOwner, p, nodes, pods)).toBeNull();
  });
});
