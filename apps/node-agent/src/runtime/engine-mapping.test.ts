import { describe, expect, it } from "vitest";
import {
  imagePath,
  labelFilters,
  registryHostOf,
  splitImageRef,
  toContainerInfo,
  toContainerState,
  toContainerStats,
  toCreateBody,
  toDiskUsage,
  toImageConfig,
} from "./engine-mapping";
import type { ContainerSpec } from "./types";

const base: ContainerSpec = {
  name: "berth-pod_1",
  image: "busybox",
  env: {},
  labels: {},
  ports: [],
  resources: {},
};
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe("toCreateBody", () => {
  it("always runs unprivileged, without capabilities, with a process limit and no engine restarts", () => {
    expect(toCreateBody(base, { pidsLimit: 512, userNamespace: "off" }).HostConfig).toEqual({
      Privileged: false,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      PidsLimit: 512,
      PortBindings: {},
      RestartPolicy: { Name: "no" },
    });
  });

  it("sets memory with no swap, CPU, ports grouped per container port, env and hostname", () => {
    const body = toCreateBody(
      {
        ...base,
        hostname: "web-1",
        env: { A: "1", B: "x=y" },
        resources: { memoryBytes: 134_217_728, nanoCpus: 250_000_000 },
        ports: [
          { containerPort: 8080, hostPort: 18080, hostIp: "127.0.0.1", protocol: "tcp" },
          { containerPort: 8080, hostPort: 18081, hostIp: "10.0.0.2", protocol: "tcp" },
          { containerPort: 53, hostPort: 1053, hostIp: "0.0.0.0", protocol: "udp" },
        ],
      },
      { pidsLimit: 64 },
    );
    expect(body).toMatchObject({
      Hostname: "web-1",
      Env: ["A=1", "B=x=y"],
      ExposedPorts: { "8080/tcp": {}, "53/udp": {} },
      HostConfig: {
        Memory: 134_217_728,
        MemorySwap: 134_217_728,
        NanoCpus: 250_000_000,
        PortBindings: {
          "8080/tcp": [
            { HostIp: "127.0.0.1", HostPort: "18080" },
            { HostIp: "10.0.0.2", HostPort: "18081" },
          ],
          "53/udp": [{ HostIp: "0.0.0.0", HostPort: "1053" }],
        },
      },
    });
  });

  it("joins a sandbox's network and UTS namespaces, leaving ports, hostname and resolver to it", () => {
    const body = toCreateBody(
      {
        ...base,
        hostname: "web-1",
        sandboxId: "abc123",
        ports: [{ containerPort: 8080, hostPort: 18080, hostIp: "127.0.0.1", protocol: "tcp" }],
        network: { name: "berth-cl_1", dns: ["100.64.0.10"], dnsSearch: ["ns.svc"], dnsOptions: [] },
      },
      { pidsLimit: 64 },
    );
    expect(body.Hostname).toBeUndefined();
    expect(body.NetworkingConfig).toBeUndefined();
    expect(body.ExposedPorts).toEqual({});
    const host = body.HostConfig as Record<string, unknown>;
    expect(host).toMatchObject({
      NetworkMode: "container:abc123",
      UTSMode: "container:abc123",
      PortBindings: {},
    });
    expect(host.Dns).toBeUndefined();
    const info = toContainerInfo(
      json({
        Id: "def",
        Name: "/x",
        State: { Status: "running" },
        Config: { Labels: {} },
        HostConfig: { NetworkMode: "container:abc123" },
        NetworkSettings: { Networks: { "berth-cl_1": { IPAddress: "10.89.0.7" } } },
      }),
    );
    expect(info).toMatchObject({ sandboxId: "abc123", ipAddress: "10.89.0.7" });
  });

  it("maps command to Entrypoint with an empty Cmd, so the image CMD is not appended", () => {
    expect(toCreateBody({ ...base, command: ["/bin/app"] }, { pidsLimit: 1 })).toMatchObject({
      Entrypoint: ["/bin/app"],
      Cmd: [],
    });
    expect(toCreateBody({ ...base, command: ["/bin/app"], args: ["-v"] }, { pidsLimit: 1 })).toMatchObject({
      Entrypoint: ["/bin/app"],
      Cmd: ["-v"],
    });
  });

  it("keeps the image's entrypoint when only args are given, and both when neither (or empty lists) are", () => {
    const argsOnly = toCreateBody({ ...base, args: ["serve"] }, { pidsLimit: 1 });
    expect(argsOnly).toMatchObject({ Cmd: ["serve"] });
    expect(argsOnly).not.toHaveProperty("Entrypoint");
    const neither = toCreateBody({ ...base, command: [], args: [] }, { pidsLimit: 1 });
    expect(neither).not.toHaveProperty("Entrypoint");
    expect(neither).not.toHaveProperty("Cmd");
  });
});

describe("toCreateBody and the host's root", () => {
  it("runs as the default non-root user unless the spec names one, without a user namespace", () => {
    expect(toCreateBody(base, { pidsLimit: 1 })).toMatchObject({ User: "65534:65534" });
    const off = { pidsLimit: 1, userNamespace: "off" as const, defaultUser: "1001:1001" };
    expect(toCreateBody(base, off)).toMatchObject({ User: "1001:1001" });
    expect(toCreateBody(base, off).HostConfig).not.toHaveProperty("UsernsMode");
    expect(toCreateBody({ ...base, user: "1000" }, off)).toMatchObject({ User: "1000" });
  });

  it("with user namespaces asks for one of the container's own and sets no user", () => {
    const body = toCreateBody(base, { pidsLimit: 1, userNamespace: "auto" });
    expect(body).not.toHaveProperty("User");
    expect(body.HostConfig).toMatchObject({ UsernsMode: "auto" });
  });
});

describe("toDiskUsage", () => {
  it("reads each container's writable layer size, zero when the engine leaves it out", () => {
    const body = json([
      { Id: "a", Labels: { "berth.pod": "pod_1" }, SizeRw: 310 * 1024 * 1024 },
      { Id: "b", Labels: null },
    ]);
    expect(toDiskUsage(body)).toEqual([
      { id: "a", labels: { "berth.pod": "pod_1" }, writableBytes: 310 * 1024 * 1024 },
      { id: "b", labels: {}, writableBytes: 0 },
    ]);
  });
});

describe("image references", () => {
  it("splits repository and tag or digest, defaulting the tag to latest", () => {
    expect(splitImageRef("busybox")).toEqual({ repo: "busybox", tag: "latest" });
    expect(splitImageRef("localhost:5000/berth/web")).toEqual({
      repo: "localhost:5000/berth/web",
      tag: "latest",
    });
    expect(splitImageRef("localhost:5000/berth/web:1.2")).toEqual({
      repo: "localhost:5000/berth/web",
      tag: "1.2",
    });
    expect(splitImageRef("ghcr.io/a/b@sha256:abc")).toEqual({ repo: "ghcr.io/a/b", tag: "sha256:abc" });
  });

  it("encodes each path segment but keeps the slashes", () => {
    expect(imagePath("localhost:5000/berth/web:1.2")).toBe("localhost%3A5000/berth/web%3A1.2");
  });

  it("names the registry host of a reference, as Docker splits it", () => {
    expect(registryHostOf("127.0.0.1:55000/ten_a/web@sha256:abc")).toBe("127.0.0.1:55000");
    expect(registryHostOf("localhost/berth/demo-web:latest")).toBe("localhost");
    expect(registryHostOf("ghcr.io/a/b")).toBe("ghcr.io");
    expect(registryHostOf("library/nginx")).toBeNull();
    expect(registryHostOf("nginx")).toBeNull();
  });

  it("takes the image's repository digest that the reference names: itself, else one of its repository", () => {
    const d = (c: string) => `sha256:${c.repeat(64)}`;
    const body = json({
      Id: "sha256:0f",
      RepoDigests: [`r:5/other/x@${d("1")}`, `r:5/t/web@${d("2")}`, `r:5/t/web@${d("3")}`],
      Config: { User: "" },
    });
    expect(toImageConfig(body, `r:5/t/web@${d("3")}`).digest).toBe(`r:5/t/web@${d("3")}`);
    expect(toImageConfig(body, "r:5/t/web:v1").digest).toBe(`r:5/t/web@${d("2")}`);
    expect(toImageConfig(body).digest).toBe(`r:5/other/x@${d("1")}`);
  });
});

describe("toContainerInfo", () => {
  const inspect = (state: Record<string, unknown>) =>
    json({
      Id: "abc",
      Name: "/berth-pod_1",
      RestartCount: 0,
      Image: "sha256:deadbeef",
      State: { ExitCode: 0, StartedAt: "0001-01-01T00:00:00Z", FinishedAt: "0001-01-01T00:00:00Z", ...state },
      Config: { Image: "localhost/berth/web:1", Labels: { "berth.pod": "pod_1" } },
    });

  it("strips the leading slash, keeps the image as given and nulls Go's zero times", () => {
    expect(toContainerInfo(inspect({ Status: "created" }))).toEqual({
      id: "abc",
      name: "berth-pod_1",
      image: "localhost/berth/web:1",
      labels: { "berth.pod": "pod_1" },
      state: "created",
      exitCode: null,
      startedAt: null,
      finishedAt: null,
      restartCount: 0,
      ports: [],
      oomKilled: false,
      ipAddress: null,
      sandboxId: null,
      imageId: "sha256:deadbeef",
    });
  });

  it("lists the host ports it publishes, one per binding", () => {
    const body = json({
      Id: "abc",
      Name: "/x",
      State: { Status: "running" },
      Config: { Labels: null },
      HostConfig: {
        PortBindings: {
          "8080/tcp": [
            { HostIp: "127.0.0.1", HostPort: "30001" },
            { HostIp: "", HostPort: "" },
          ],
          "53/udp": [{ HostIp: "0.0.0.0", HostPort: "30000" }],
          "9090/tcp": null,
        },
      },
    });
    expect(toContainerInfo(body).ports).toEqual([
      { containerPort: 53, hostPort: 30000, hostIp: "0.0.0.0", protocol: "udp" },
      { containerPort: 8080, hostPort: 30001, hostIp: "127.0.0.1", protocol: "tcp" },
    ]);
  });

  it("reports exit code and finish time only once the container has exited", () => {
    const running = toContainerInfo(
      inspect({ Status: "running", StartedAt: "2026-01-01T00:00:02Z", FinishedAt: "2026-01-01T00:00:01Z" }),
    );
    expect(running).toMatchObject({
      state: "running",
      exitCode: null,
      startedAt: "2026-01-01T00:00:02Z",
      finishedAt: null,
    });
    const exited = toContainerInfo(
      inspect({
        Status: "exited",
        ExitCode: 137,
        StartedAt: "2026-01-01T00:00:02Z",
        FinishedAt: "2026-01-01T00:00:05Z",
      }),
    );
    expect(exited).toMatchObject({ state: "exited", exitCode: 137, finishedAt: "2026-01-01T00:00:05Z" });
  });

  it("rejects a body that is not a container with a FAILED RuntimeError", () => {
    expect(() => toContainerInfo(json({ message: "nope" }))).toThrow(/unexpected engine response/);
  });

  it("folds Podman's own state names into Docker's", () => {
    expect(toContainerState("configured")).toBe("created");
    expect(toContainerState("stopped")).toBe("exited");
    expect(toContainerState("stopping")).toBe("running");
    expect(toContainerState("paused")).toBe("paused");
    expect(toContainerState("weird")).toBe("unknown");
  });
});

describe("toContainerStats", () => {
  it("reads cumulative CPU nanoseconds and memory without the inactive page cache", () => {
    const body = json({
      cpu_stats: { cpu_usage: { total_usage: 30_575_479 } },
      memory_stats: { usage: 10_000_000, stats: { inactive_file: 4_000_000 } },
    });
    expect(toContainerStats(body)).toEqual({
      cpuNanos: 30_575_479,
      memoryBytes: 6_000_000,
      rxBytes: 0,
      txBytes: 0,
    });
  });

  it("sums bytes received and sent over the container's networks", () => {
    const body = json({
      cpu_stats: { cpu_usage: { total_usage: 1 } },
      memory_stats: { usage: 100 },
      networks: { eth0: { rx_bytes: 1_000, tx_bytes: 20 }, eth1: { rx_bytes: 5, tx_bytes: 7 } },
    });
    expect(toContainerStats(body)).toMatchObject({ rxBytes: 1_005, txBytes: 27 });
  });

  it("is null for Podman's empty body and Docker's zeroed stats of a stopped container", () => {
    expect(toContainerStats(Buffer.alloc(0))).toBeNull();
    expect(
      toContainerStats(json({ cpu_stats: { cpu_usage: { total_usage: 0 } }, memory_stats: {} })),
    ).toBeNull();
  });
});

describe("labelFilters", () => {
  it("asks for containers carrying every label", () => {
    expect(JSON.parse(labelFilters({ "berth.pod": "pod_1", tier: "web" }))).toEqual({
      label: ["berth.pod=pod_1", "tier=web"],
    });
  });
});
