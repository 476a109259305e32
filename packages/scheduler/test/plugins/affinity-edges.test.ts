import { describe, expect, it } from "vitest";
import { ClusterState } from "../../src/cluster-state";
import { schedule } from "../../src/index";
import { interPodAffinity } from "../../src/plugins/inter-pod-affinity";
import { interPodAffinityScore } from "../../src/plugins/inter-pod-affinity-score";
import { nodeAffinityScore } from "../../src/plugins/node-affinity-score";
import type { NodeState, PodAffinityTerm } from "../../src/types";
import { bound, node, pod, scores, verdict } from "../fixtures";

const ZONE = "topology.kubernetes.io/zone";
const RACK = "example.com/rack";
const zoned = [node("a1", { labels: { [ZONE]: "a" } }), node("b1", { labels: { [ZONE]: "b" } })];
const selecting = (app: string, topologyKey: string): PodAffinityTerm => ({
  labelSelector: { matchLabels: { app } },
  topologyKey,
});

describe("preferred terms of weight 0 count for nothing (kube drops them)", () => {
  it("NodeAffinity scorer: a pod whose only preferred term weighs 0 is skipped", () => {
    const p = pod("p", {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 0, preference: { matchExpressions: [{ key: ZONE, operator: "In", values: ["a"] }] } },
          ],
        },
      },
    });
    expect(scores(nodeAffinityScore, p, zoned)).toBeNull();
  });

  it("InterPodAffinity scorer: a pod whose only preferred terms weigh 0 is skipped", () => {
    const p = pod("p", {
      affinity: {
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 0, podAffinityTerm: selecting("db", ZONE) },
          ],
        },
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 0, podAffinityTerm: selecting("db", ZONE) },
          ],
        },
      },
    });
    expect(
      scores(interPodAffinityScore, p, zoned, [bound("db", "a1", { labels: { app: "db" } })]),
    ).toBeNull();
  });
});

describe("terms of pods on nodes without the term's topology key are in no domain", () => {
  const web = pod("p", { labels: { app: "web" } });

  it("InterPodAffinity scorer: such preferred terms selecting the pod leave it nothing to score", () => {
    const likesWeb = bound("l", "a1", {
      affinity: {
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 8, podAffinityTerm: selecting("web", RACK) },
          ],
        },
      },
    });
    expect(scores(interPodAffinityScore, web, zoned, [likesWeb])).toBeNull();
  });

  it("InterPodAffinity filter: such a required anti-affinity term selecting the pod leaves it nothing to check", () => {
    const avoidsWeb = bound("v", "a1", {
      affinity: {
        podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [selecting("web", RACK)] },
      },
    });
    expect(verdict(interPodAffinity, web, zoned[0] as NodeState, [avoidsWeb], [zoned[1] as NodeState])).toBe(
      "skipped",
    );
  });
});

describe("terms whose pods are all taken away (as preemption does while it tries victims)", () => {
  it("leave the filter nothing to check and the scorer nothing to score", () => {
    const carrier = bound("c", "a1", {
      affinity: {
        podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [selecting("web", ZONE)] },
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 8, podAffinityTerm: selecting("web", ZONE) },
          ],
        },
      },
    });
    const state = new ClusterState({ nodes: zoned, pods: [carrier] });
    const web = pod("p", { labels: { app: "web" } });
    expect([interPodAffinity.prepare(web, state), interPodAffinityScore.prepare(web, state)]).not.toContain(
      null,
    );
    for (const record of state.boundPodsOn(0)) state.toggle(record, -1);
    expect([interPodAffinity.prepare(web, state), interPodAffinityScore.prepare(web, state)]).toEqual([
      null,
      null,
    ]);
  });
});

describe("NodeAffinity scorer's pod key", () => {
  it("tells apart pods with different preferences, so a later pod does not read an earlier one's scores", () => {
    const nodes = [node("a", { labels: { disk: "ssd" } }), node("b"), node("c", { labels: { zone: "z" } })];
    const prefers = (id: string, key: string, value: string, createdSeq: number) =>
      pod(id, {
        createdSeq,
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 50, preference: { matchExpressions: [{ key, operator: "In", values: [value] }] } },
            ],
          },
        },
      });
    const plan = schedule(
      { nodes, pods: [] },
      { pending: [prefers("ssd", "disk", "ssd", 0), prefers("z", "zone", "z", 1)] },
    );
    expect(plan.placements.map((p) => [p.podId, p.nodeId])).toEqual([
      ["ssd", "a"],
      ["z", "c"],
    ]);
  });
});
