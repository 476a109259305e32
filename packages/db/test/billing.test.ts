import { describe, expect, it } from "vitest";
import { type ContainerTemplate, type PodTemplate, podBilledResources, podRequests } from "../src/schema";

const container = (
  requests: { cpuMillis: number; memoryBytes: number },
  limits: { cpuMillis: number; memoryBytes: number },
): ContainerTemplate => ({
  name: "c",
  image: "localhost/x:latest",
  env: [],
  ports: [],
  resources: requests,
  limits,
});
const pod = (...containers: ContainerTemplate[]): PodTemplate => ({
  containers,
  nodeSelector: {},
  tolerations: [],
  priority: 0,
  rollout: { maxSurge: "25%", maxUnavailable: "25%" },
});

describe("what a pod is billed for", () => {
  it("is the sum of its containers' limits, not their requests", () => {
    const t = pod(
      container({ cpuMillis: 250, memoryBytes: 64 }, { cpuMillis: 1000, memoryBytes: 256 }),
      container({ cpuMillis: 100, memoryBytes: 32 }, { cpuMillis: 100, memoryBytes: 32 }),
    );
    expect(podBilledResources(t)).toEqual({ cpuMillis: 1100, memoryBytes: 288 });
    expect(podRequests(t)).toEqual({ cpuMillis: 350, memoryBytes: 96 });
  });

  it("never bills below the requests, even for a template stored with a limit under its request", () => {
    const t = pod(container({ cpuMillis: 500, memoryBytes: 128 }, { cpuMillis: 100, memoryBytes: 64 }));
    expect(podBilledResources(t)).toEqual({ cpuMillis: 500, memoryBytes: 128 });
  });
});
