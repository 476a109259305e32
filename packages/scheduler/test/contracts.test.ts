import { describe, expect, it } from "vitest";
import {
  builtInFilters,
  defaultScorers,
  explain,
  feasibleNodesToFind,
  resolvePriority,
  SchedulerInputError,
} from "../src/index";
import { tolerates } from "../src/plugins/tolerations";

describe("the names the README documents and weights override", () => {
  it("names the built-in filters, in the order they run", () => {
    expect(builtInFilters.map((f) => f.name)).toEqual([
      "NodeReady",
      "NodeUnschedulable",
      "NodeSelector",
      "NodeAffinity",
      "TaintToleration",
      "VolumeBinding",
      "HostPorts",
      "NodeResourcesFit",
      "PodTopologySpread",
      "InterPodAffinity",
    ]);
  });

  it("names and weighs the default scorers", () => {
    expect(defaultScorers.map((s) => [s.name, s.weight])).toEqual([
      ["LeastAllocated", 1],
      ["BalancedAllocation", 1],
      ["SpreadOwner", 2],
      ["TaintPreferNoSchedule", 3],
      ["NodeAffinity", 2],
      ["PodTopologySpread", 2],
      ["InterPodAffinity", 2],
    ]);
  });
});

describe("small contracts", () => {
  it("SchedulerInputError is an INTERNAL, non-retryable error with its own name", () => {
    const error = new SchedulerInputError("bad snapshot");
    expect([error.name, error.code, error.retryable, error.message]).toEqual([
      "SchedulerInputError",
      "INTERNAL",
      false,
      "bad snapshot",
    ]);
    expect(error).toBeInstanceOf(Error);
  });

  it("a toleration with an unknown operator tolerates nothing", () => {
    expect(
      tolerates({ key: "gpu", operator: "Bogus" as "Exists" }, { key: "gpu", effect: "NoSchedule" }),
    ).toBe(false);
  });

  it("of two global default classes with the lowest value, the first listed wins", () => {
    const classes = [
      { name: "first", value: 3, globalDefault: true },
      { name: "second", value: 3, globalDefault: true },
    ];
    expect(resolvePriority(classes, undefined)).toMatchObject({ priorityClassName: "first" });
  });

  it("never asks for more nodes than there are, whatever the percentage", () => {
    expect(feasibleNodesToFind(1000, 150)).toBe(1000);
    expect(feasibleNodesToFind(1000, 99.9)).toBe(990);
  });

  it("explains a cluster with nodes but no reasons with a bare sentence", () => {
    expect(explain(3, new Map())).toEqual({ reason: "0/3 nodes are available.", counts: {} });
  });
});
