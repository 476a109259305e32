import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startPlatform } from "./harness";

/** A bring-your-own pool: nothing to launch, and nodes that join with its token carry its labels and taints. */
let p: Platform;
let token: string;
let clusterId: string;
beforeAll(async () => {
  p = await startPlatform();
  ({ token } = await p.api.tenant("byo"));
  clusterId = await p.activeCluster(token, "c");
});
afterAll(() => p.close());

const join = (joinToken: string, name: string, extra: Record<string, unknown> = {}) =>
  p.api.call("POST", "/v1/nodes/join", {
    body: {
      joinToken,
      name,
      capacity: { cpuMillis: 2000, memoryBytes: 4 * 1024 ** 3, pods: 10 },
      portRange: { min: 30000, max: 30010 },
      address: "127.0.0.1",
      ...extra,
    },
  });
const poolToken = async (poolId: string) =>
  (await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token, body: { poolId } })).body
    .token as string;
const nodeNamed = async (name: string) =>
  (await p.api.call("GET", `/v1/clusters/${clusterId}/nodes`, { token })).body.items.find(
    (n: { name: string }) => n.name === name,
  );

describe("a byo node pool", () => {
  it("gives nodes that join with its token the pool's labels and taints, which the scheduler honours", async () => {
    const pool = await p.api.call("POST", `/v1/clusters/${clusterId}/node-pools`, {
      token,
      body: {
        name: "gpu",
        provider: "byo",
        desiredSize: 0,
        labels: { accelerator: "yes" },
        taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }],
      },
    });
    expect(pool.status).toBe(202);
    const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, {
      token,
      body: { poolId: pool.body.id },
    });
    expect(jt.status).toBe(201);
    expect((await join(jt.body.token, "gpu-1")).status).toBe(201);
    const node = (await p.api.call("GET", `/v1/clusters/${clusterId}/nodes`, { token })).body.items.find(
      (n: { name: string }) => n.name === "gpu-1",
    );
    expect(node.labels).toMatchObject({ accelerator: "yes", "berth.io/pool": "gpu" });
    expect(node.taints).toEqual([{ key: "dedicated", value: "gpu", effect: "NoSchedule" }]);

    // A pod that does not tolerate the taint is not placed there.
    await p.api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/plain`, {
      token,
      body: {
        spec: { replicas: 1, template: { spec: { containers: [{ name: "a", image: "localhost/x" }] } } },
      },
    });
    const pending = await p.waitFor("unschedulable", async () =>
      (await p.api.call("GET", `/v1/clusters/${clusterId}/pods`, { token })).body.items.find(
        (x: { reason: string }) => x.reason === "Unschedulable",
      ),
    );
    expect(pending.message).toMatch(/untolerated taint/);
    expect(pool.body.machines).toEqual({ pending: 0, launching: 0, running: 0, terminating: 0 });
  });

  it("takes a node's zone from its agent when the pool names none, and refuses another zone than the pool's", async () => {
    const racks = await p.api.call("POST", `/v1/clusters/${clusterId}/node-pools`, {
      token,
      body: { name: "racks", provider: "byo", desiredSize: 0 },
    });
    expect((await join(await poolToken(racks.body.id), "rack-7", { zone: "dc1-rack7" })).status).toBe(201);
    expect((await nodeNamed("rack-7")).labels["topology.kubernetes.io/zone"]).toBe("dc1-rack7");
    expect((await join(await poolToken(racks.body.id), "rack-0")).status).toBe(201);
    expect((await nodeNamed("rack-0")).labels["topology.kubernetes.io/zone"]).toBe("default");

    const zoned = await p.api.call("POST", `/v1/clusters/${clusterId}/node-pools`, {
      token,
      body: { name: "zoned", provider: "byo", desiredSize: 0, zone: "eu-a" },
    });
    const refused = await join(await poolToken(zoned.body.id), "z-1", { zone: "eu-b" });
    expect(refused.status).toBe(400);
    expect(refused.body.error.issues[0].path).toBe("zone");
    expect((await join(await poolToken(zoned.body.id), "z-2", { zone: "eu-a" })).status).toBe(201);
    expect((await nodeNamed("z-2")).labels["topology.kubernetes.io/zone"]).toBe("eu-a");
  });

  it("gives a node the extended resources its agent advertises, and refuses names that are not extended resources", async () => {
    const devices = await p.api.call("POST", `/v1/clusters/${clusterId}/node-pools`, {
      token,
      body: { name: "devices", provider: "byo", desiredSize: 0 },
    });
    const capacity = (extended: Record<string, number>) => ({
      capacity: { cpuMillis: 2000, memoryBytes: 4 * 1024 ** 3, pods: 10, extended },
    });
    const ok = await join(
      await poolToken(devices.body.id),
      "fpga-1",
      capacity({ "example.com/fpga": 2, "berth.dev/gpu": 0 }),
    );
    expect(ok.status).toBe(201);
    expect((await nodeNamed("fpga-1")).capacity.extended).toEqual({ "example.com/fpga": 2 });
    const bads: Record<string, number>[] = [
      { gpu: 1 },
      { "kubernetes.io/gpu": 1 },
      { "berth.dev/gpu": 1.5 },
      { "berth.dev/gpu": -1 },
    ];
    for (const bad of bads) {
      const r = await join(await poolToken(devices.body.id), "fpga-x", capacity(bad));
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body.error.issues[0].path).toMatch(/^capacity\.extended/);
    }
  });

  it("refuses a join token for an ec2 pool or an unknown one", async () => {
    const ec2 = await p.api.call("POST", `/v1/clusters/${clusterId}/node-pools`, {
      token,
      body: { name: "cloud", provider: "ec2", desiredSize: 0 },
    });
    expect(
      (
        await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, {
          token,
          body: { poolId: ec2.body.id },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, {
          token,
          body: { poolId: "np_nope" },
        })
      ).status,
    ).toBe(404);
  });

  it("puts every node in a zone: the pool's, else the default; and labels its hostname", async () => {
    const pool = async (name: string, zone?: string) =>
      p.api.call("POST", `/v1/clusters/${clusterId}/node-pools`, {
        token,
        body: { name, provider: "byo", desiredSize: 0, ...(zone ? { zone } : {}) },
      });
    const joinPool = async (poolId: string, name: string) => {
      const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, {
        token,
        body: { poolId },
      });
      expect((await join(jt.body.token, name)).status).toBe(201);
      const nodes = (await p.api.call("GET", `/v1/clusters/${clusterId}/nodes`, { token })).body.items;
      return nodes.find((n: { name: string }) => n.name === name).labels;
    };
    const rack = await pool("rack-1", "dc1-rack1");
    expect(rack.status).toBe(202);
    expect(rack.body.zone).toBe("dc1-rack1");
    expect(await joinPool(rack.body.id, "r1-node")).toMatchObject({
      "topology.kubernetes.io/zone": "dc1-rack1",
      "kubernetes.io/hostname": "r1-node",
    });
    const plain = await pool("plain");
    expect(plain.body.zone).toBe("default");
    expect(await joinPool(plain.body.id, "plain-node")).toMatchObject({
      "topology.kubernetes.io/zone": "default",
      "kubernetes.io/hostname": "plain-node",
    });
  });

  it("keeps the zone the platform's: not from a pool's labels, an agent, or an ec2 pool's settings", async () => {
    const labelled = await p.api.call("POST", `/v1/clusters/${clusterId}/node-pools`, {
      token,
      body: {
        name: "sneaky",
        provider: "byo",
        desiredSize: 0,
        labels: { "topology.kubernetes.io/zone": "x" },
      },
    });
    expect(labelled.status).toBe(400);
    expect(labelled.body.error.code).toBe("VALIDATION_FAILED");
    const ec2 = await p.api.call("POST", `/v1/clusters/${clusterId}/node-pools`, {
      token,
      body: { name: "cloud-z", provider: "ec2", desiredSize: 0, zone: "us-east-1b" },
    });
    expect(ec2.status).toBe(400);
    expect(ec2.body.error.message).toMatch(/^zone: /);
    const bad = await p.api.call("POST", `/v1/clusters/${clusterId}/node-pools`, {
      token,
      body: { name: "bad-zone", provider: "byo", desiredSize: 0, zone: "not a zone!" },
    });
    expect(bad.status).toBe(400);
    const pool = await p.api.call("POST", `/v1/clusters/${clusterId}/node-pools`, {
      token,
      body: { name: "honest", provider: "byo", desiredSize: 0 },
    });
    const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, {
      token,
      body: { poolId: pool.body.id },
    });
    const agent = await p.api.call("POST", "/v1/nodes/join", {
      body: {
        joinToken: jt.body.token,
        name: "liar",
        capacity: { cpuMillis: 2000, memoryBytes: 4 * 1024 ** 3, pods: 10 },
        portRange: { min: 30000, max: 30010 },
        address: "127.0.0.1",
        labels: { "topology.kubernetes.io/zone": "eu-1a" },
      },
    });
    expect(agent.status).toBe(400);
  });
});
