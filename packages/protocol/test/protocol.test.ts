import { describe, expect, it } from "vitest";
import {
  assignmentSchema,
  DEFAULT_EPHEMERAL_STORAGE_BYTES,
  formatBytes,
  isLabelKey,
  isReservedLabelKey,
  joinRequestSchema,
  metricsBatchSchema,
  podReportSchema,
  syncRequestSchema,
  text,
  watchRequestSchema,
} from "../src";

const join = {
  joinToken: "bjt_0123456789abcdef",
  name: "node-1",
  capacity: { cpuMillis: 1000, memoryBytes: 1024 ** 3, pods: 10 },
  portRange: { min: 30000, max: 30010 },
  address: "10.0.0.5",
};
const container = {
  name: "web",
  image: "localhost/web:1",
  env: [],
  ports: [{ containerPort: 8080, protocol: "TCP" }],
  resources: { cpuMillis: 100, memoryBytes: 64 * 1024 ** 2 },
  limits: { cpuMillis: 100, memoryBytes: 64 * 1024 ** 2 },
};

describe("the container template", () => {
  it("defaults the ephemeral-storage limit to 1 GiB when the control plane sends none", () => {
    const a = assignmentSchema.parse({
      podId: "pod_1",
      name: "web-1",
      namespace: "default",
      action: "run",
      hostPorts: [30000],
      containers: [container],
    });
    expect(a.containers[0]?.limits.ephemeralStorageBytes).toBe(DEFAULT_EPHEMERAL_STORAGE_BYTES);
    expect(DEFAULT_EPHEMERAL_STORAGE_BYTES).toBe(1024 ** 3);
  });

  it("keeps an ephemeral-storage limit the control plane sends", () => {
    const limits = { ...container.limits, ephemeralStorageBytes: 256 * 1024 ** 2 };
    const a = assignmentSchema.parse({
      podId: "pod_1",
      name: "web-1",
      namespace: "default",
      action: "run",
      hostPorts: [],
      containers: [{ ...container, limits }],
    });
    expect(a.containers[0]?.limits.ephemeralStorageBytes).toBe(256 * 1024 ** 2);
  });
});

describe("requests the control plane accepts", () => {
  it("accepts a well-formed join", () => {
    expect(
      joinRequestSchema.parse({ ...join, labels: { "example.com/disk": "ssd", zone: "a" } }),
    ).toMatchObject(join);
  });

  it.each([
    ["a NUL byte in the address", { address: "10.0.0.5\u0000" }],
    ["a lone surrogate in the agent version", { agentVersion: "v\uD800" }],
    ["an agent version that is not MAJOR.MINOR.PATCH", { agentVersion: "test" }],
    ["a name that is not a DNS label", { name: "Node_1" }],
    ["a huge number", { capacity: { cpuMillis: 1e308, memoryBytes: 1024 ** 3, pods: 10 } }],
    ["an unknown field", { taints: [] }],
    ["a label key with a NUL byte", { labels: { "a\u0000b": "x" } }],
    ["a label value with spaces", { labels: { zone: "a b" } }],
    ["a port range upside down", { portRange: { min: 30010, max: 30000 } }],
  ])("refuses %s", (_what, patch) => {
    expect(joinRequestSchema.safeParse({ ...join, ...patch }).success).toBe(false);
  });

  it("refuses pod reports with NUL bytes or unknown reasons, and reserved ports out of range", () => {
    const report = { podId: "pod_1", state: "failed", restarts: 0, ready: false };
    expect(podReportSchema.safeParse({ ...report, reason: "Evicted", message: "ok" }).success).toBe(true);
    expect(podReportSchema.safeParse({ ...report, message: "a\u0000b" }).success).toBe(false);
    expect(podReportSchema.safeParse({ ...report, reason: "Whatever" }).success).toBe(false);
    expect(syncRequestSchema.safeParse({ pods: [], reservedHostPorts: [70000] }).success).toBe(false);
    expect(syncRequestSchema.safeParse({ pods: [], reservedHostPorts: [30001] }).success).toBe(true);
  });

  it("takes a pod's phase and Kubernetes-shaped statuses from its node, and refuses a phase Kubernetes has not", () => {
    const report = { podId: "pod_1", state: "exited", restarts: 1, ready: false };
    const terminated = { exitCode: 137, signal: 9, reason: "OOMKilled", startedAt: null, finishedAt: null };
    const status = {
      name: "web",
      ready: false,
      started: false,
      restartCount: 1,
      containerID: "docker://abc",
      state: { terminated },
      lastState: { terminated: { ...terminated, exitCode: 1, signal: undefined, reason: "Error" } },
    };
    expect(
      podReportSchema.safeParse({ ...report, phase: "Failed", reason: "OOMKilled", containers: [status] })
        .success,
    ).toBe(true);
    expect(podReportSchema.safeParse({ ...report, phase: "Init:Error" }).success).toBe(false);
    expect(podReportSchema.safeParse({ ...report, reason: "Init:CrashLoopBackOff" }).success).toBe(true);
    expect(
      syncRequestSchema.safeParse({
        pods: [],
        events: [
          { podId: "pod_1", type: "Normal", reason: "Pulled", message: "x", at: "2026-01-01T00:00:00Z" },
        ],
      }).success,
    ).toBe(true);
  });

  it("defaults an assignment to not terminal (older control planes say nothing of it)", () => {
    const a = {
      podId: "pod_1",
      name: "p",
      namespace: "default",
      action: "run",
      hostPorts: [],
      containers: [container],
    };
    expect(assignmentSchema.parse(a).terminal).toBe(false);
    expect(assignmentSchema.parse({ ...a, terminal: true }).terminal).toBe(true);
  });

  it("takes the watch's query string as text and bounds the wait", () => {
    expect(watchRequestSchema.parse({ version: "abc", waitMs: "1000" })).toEqual({
      version: "abc",
      waitMs: 1000,
    });
    expect(watchRequestSchema.safeParse({ waitMs: "1e400" }).success).toBe(false);
    expect(watchRequestSchema.safeParse({ version: "a/b" }).success).toBe(false);
  });

  it("text() refuses NUL bytes and lone surrogates but keeps paired ones", () => {
    expect(text(10).safeParse("😀").success).toBe(true);
    expect(text(10).safeParse("\uDE00x").success).toBe(false);
    expect(text(10).safeParse("x\u0000").success).toBe(false);
  });
});

describe("labels", () => {
  it("knows Kubernetes' label key syntax", () => {
    expect(isLabelKey("zone")).toBe(true);
    expect(isLabelKey("example.com/disk-type")).toBe(true);
    expect(isLabelKey("/x")).toBe(false);
    expect(isLabelKey("Example.com/x")).toBe(false);
    expect(isLabelKey("a/b/c")).toBe(false);
  });

  it.each([
    ["berth.io/pool", true],
    ["BERTH.IO/machine", true],
    ["kubernetes.io/hostname", true],
    ["node.kubernetes.io/exclude", true],
    ["topology.kubernetes.io/zone", true],
    ["x.berth.io/anything", true],
    ["example.com/kubernetes.io", false],
    ["notkubernetes.io/x", false],
    ["zone", false],
  ])("%s is reserved: %s", (key, reserved) => {
    expect(isReservedLabelKey(key)).toBe(reserved);
  });
});

describe("formatBytes", () => {
  it.each([
    [512, "512"],
    [256 * 1024 ** 2, "256Mi"],
    [310 * 1024 ** 2 + 12345, "310Mi"],
    [1536 * 1024 ** 2, "1536Mi"],
    [1024 ** 3, "1Gi"],
    [20 * 1024 ** 3 + 5, "20Gi"],
  ])("%d bytes are %s", (bytes, shown) => {
    expect(formatBytes(bytes)).toBe(shown);
  });
});

describe("metrics batches", () => {
  const sample = {
    podId: "pod_abc",
    at: "2026-01-01T00:00:10Z",
    windowMs: 10_000,
    cpuNanos: 1,
    memoryBytes: 2,
    rxBytes: 3,
    txBytes: 4,
    restarts: 0,
  };
  it("are bounded: at most 5,000 pod samples and 100 node samples, windows of at most an hour", () => {
    expect(metricsBatchSchema.safeParse({ pods: Array(5_000).fill(sample), node: [] }).success).toBe(true);
    expect(metricsBatchSchema.safeParse({ pods: Array(5_001).fill(sample), node: [] }).success).toBe(false);
    expect(
      metricsBatchSchema.safeParse({ pods: [{ ...sample, windowMs: 3_600_001 }], node: [] }).success,
    ).toBe(false);
    expect(metricsBatchSchema.safeParse({ pods: [{ ...sample, cpuNanos: 1.5 }], node: [] }).success).toBe(
      false,
    );
    expect(metricsBatchSchema.safeParse({ pods: [{ ...sample, extra: 1 }], node: [] }).success).toBe(false);
  });
});
