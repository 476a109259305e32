import { describe, expect, it } from "vitest";
import { podExtendedRequests, renderPodSpec } from "../src/index";
import { admit, refusal } from "./support";

const cuda = (resources: Record<string, unknown>) => ({
  name: "app",
  image: "nvidia/cuda:12.4.0-base-ubuntu22.04",
  resources,
});
const withResources = (resources: Record<string, unknown>, init?: Record<string, unknown>) =>
  admit({
    containers: [cuda(resources)],
    ...(init ? { initContainers: [{ name: "warm", image: "busybox:1.36", resources: init }] } : {}),
  });
const refused = (resources: Record<string, unknown>) => refusal({ containers: [cuda(resources)] });

const container = "spec.template.spec.containers[0]";

describe("extended resources on a container", () => {
  it("are whole units asked for by limit, the request following it, and render as Kubernetes shows them", () => {
    const d = withResources({ limits: { "berth.dev/gpu": 2, cpu: "1" } });
    expect(d.template.containers[0]?.resources.extended).toEqual({ "berth.dev/gpu": 2 });
    expect(podExtendedRequests(d.template)).toEqual({ "berth.dev/gpu": 2 });
    const spec = renderPodSpec(d.template) as {
      containers: { resources: Record<string, Record<string, string>> }[];
    };
    expect(spec.containers[0]?.resources.requests?.["berth.dev/gpu"]).toBe("2");
    expect(spec.containers[0]?.resources.limits?.["berth.dev/gpu"]).toBe("2");
  });

  it("accept a request equal to the limit, written as a string, and any vendor's name", () => {
    const d = withResources({ requests: { "nvidia.com/gpu": "1" }, limits: { "nvidia.com/gpu": "1" } });
    expect(d.template.containers[0]?.resources.extended).toEqual({ "nvidia.com/gpu": 1 });
  });

  it("asking for 0 is asking for none", () => {
    const d = withResources({ limits: { "berth.dev/gpu": 0 } });
    expect(d.template.containers[0]?.resources.extended).toBeUndefined();
    expect(podExtendedRequests(d.template)).toBeUndefined();
  });

  it("count an init container's ask as kube does: the most of one init container, or the sum of the others", () => {
    const d = withResources({ limits: { "berth.dev/gpu": 1 } }, { limits: { "berth.dev/gpu": 3 } });
    expect(podExtendedRequests(d.template)).toEqual({ "berth.dev/gpu": 3 });
  });

  it.each([
    [
      { requests: { "berth.dev/gpu": 1 } },
      `${container}.resources.limits.berth.dev/gpu`,
      "Limit must be set",
    ],
    [
      { requests: { "berth.dev/gpu": 1 }, limits: { "berth.dev/gpu": 2 } },
      `${container}.resources.requests.berth.dev/gpu`,
      "must be equal to berth.dev/gpu limit of 2",
    ],
    [
      { limits: { "berth.dev/gpu": "500m" } },
      `${container}.resources.limits.berth.dev/gpu`,
      "must be an integer",
    ],
    [
      { limits: { "berth.dev/gpu": 1.5 } },
      `${container}.resources.limits.berth.dev/gpu`,
      "must be an integer",
    ],
    [{ limits: { gpu: 1 } }, `${container}.resources.limits.gpu`, "unknown resource"],
    [
      { limits: { "kubernetes.io/gpu": 1 } },
      `${container}.resources.limits.kubernetes.io/gpu`,
      "unknown resource",
    ],
    [{ requests: { cpus: "1" } }, `${container}.resources.requests.cpus`, "unknown resource"],
    [
      { limits: { "berth.dev/gpu": 2_000_000 } },
      `${container}.resources.limits.berth.dev/gpu`,
      "at most 1000000",
    ],
  ])("refuse %j naming the field", (resources, path, message) => {
    const r = refused(resources);
    expect(r.path).toBe(path);
    expect(r.message).toContain(message);
  });
});
