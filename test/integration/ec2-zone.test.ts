import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestApi } from "@berth/control-api/testing";
import { systemRows } from "@berth/db/testing";
import type { Ec2Emulator } from "@berth/ec2-emulator";
import { createEc2Provider } from "@berth/provisioner/ec2";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Ec2Platform, startEc2Platform, waitFor } from "./ec2-support";

/**
 * An ec2 machine's zone is the one EC2 put its instance in; its node joins with that
 * `topology.kubernetes.io/zone`. Against the EC2 emulator, through the real SDK (no agent runs: the
 * test joins with the token the machine's user-data carries, as its agent would).
 */
let platform: Ec2Platform;
let ec2: Ec2Emulator;
let api: TestApi;
let workDir: string;

beforeAll(async () => {
  platform = await startEc2Platform({ region: "eu-west-1", amiId: "ami-12345678" });
  ({ ec2, api, workDir } = platform);
});
afterAll(() => platform?.close());

describe("zones of ec2 machines", () => {
  it("the provider reports the availability zone of the instance it launches, and again when it adopts it", async () => {
    const provider = createEc2Provider(platform.providerOptions());
    const spec = {
      machineId: "m_zone1",
      tenantId: "tenant_1",
      clusterId: "cluster_1",
      poolId: "np_1",
      instanceType: "small" as const,
      userData: "#!/bin/sh\n",
      boot: { joinToken: "bjt_unused", nodeName: "zone-node" },
    };
    const launched = await provider.create(spec);
    expect(launched.zone).toBe("eu-west-1a");
    expect((await provider.describe(launched.instanceId))?.zone).toBe("eu-west-1a");
    // A retried launch finds the tagged instance, with the same zone.
    expect(await provider.create(spec)).toEqual(launched);
  });

  it("a launched machine's node joins in its instance's zone, with its hostname and its instance type's GPU", async () => {
    const { token } = await api.tenant("zones");
    const call = (method: string, path: string, body?: unknown) => api.call(method, path, { token, body });
    const clusterId = (await call("POST", "/v1/clusters", { name: "c" })).body.id as string;
    await waitFor(
      "cluster active",
      async () => (await call("GET", `/v1/clusters/${clusterId}`)).body.status === "active",
    );
    const pool = await call("POST", `/v1/clusters/${clusterId}/node-pools`, {
      name: "web",
      provider: "ec2",
      instanceType: "gpu",
      minSize: 0,
      maxSize: 1,
      desiredSize: 1,
    });
    expect(pool.status, pool.text).toBe(202);
    expect(pool.body.zone).toBeNull();
    const [machine] = await waitFor("the machine launched", async () => {
      const rows = await systemRows(
        api.deps.db,
        sql`select id, instance_id, zone, node_name from machines where status = 'launching'`,
      );
      return rows.length === 1 && rows;
    });
    expect(machine?.zone).toBe("eu-west-1a");
    // Console output is a local VM's serial console: an ec2 machine's is not served here.
    const console = await call(
      "GET",
      `/v1/clusters/${clusterId}/node-pools/${pool.body.id}/machines/${machine?.id}/console`,
    );
    expect(console.status, console.text).toBe(400);
    expect(console.body.error.message).toContain("local-vm machines");
    const userData = await readFile(join(workDir, String(machine?.instance_id), "user-data"), "utf8");
    const joinToken = /BERTH_JOIN_TOKEN='([^']+)'/.exec(userData)?.[1];
    expect(joinToken).toBeDefined();
    expect(ec2.instances().map((i) => i.instanceType)).toContain("g4dn.xlarge");
    const joinAs = (extra: Record<string, unknown>) =>
      api.call("POST", "/v1/nodes/join", {
        body: {
          joinToken,
          name: machine?.node_name,
          // What the agent claims of extended resources does not count: the instance type says.
          capacity: {
            cpuMillis: 2000,
            memoryBytes: 4 * 1024 ** 3,
            pods: 10,
            extended: { "berth.dev/gpu": 8 },
          },
          portRange: { min: 30000, max: 30010 },
          address: "127.0.0.1",
          ...extra,
        },
      });
    // An agent naming another zone than its instance's is refused, and its token still works.
    const elsewhere = await joinAs({ zone: "eu-west-1b" });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.error.message).toContain("zone eu-west-1a");
    const joined = await joinAs({});
    expect(joined.status, joined.text).toBe(201);
    const node = (await call("GET", `/v1/clusters/${clusterId}/nodes`)).body.items.find(
      (n: { name: string }) => n.name === machine?.node_name,
    );
    expect(node.labels).toMatchObject({
      "topology.kubernetes.io/zone": "eu-west-1a",
      "kubernetes.io/hostname": machine?.node_name,
      "berth.io/pool": "web",
      "berth.io/instance-type": "gpu",
    });
    expect(node.capacity.extended).toEqual({ "berth.dev/gpu": 1 });
  });
});
