import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startPlatform } from "./harness";

/**
 * `kubectl rollout history|undo|pause|resume` over the API, with the real provisioner making the
 * revisions: history newest first, undo to the previous and to a given revision, refusals as
 * kubectl words them, pause and resume as new generations.
 */
let p: Platform;
let token: string;
let clusterId: string;
const base = () => `/v1/clusters/${clusterId}/deployments/default/web`;

const manifest = (version: string, cause: string) => ({
  metadata: { annotations: { "kubernetes.io/change-cause": cause } },
  spec: {
    replicas: 1,
    template: {
      spec: {
        containers: [
          {
            name: "web",
            image: "localhost/berth/demo-web:latest",
            env: [{ name: "VERSION", value: version }],
            resources: { requests: { cpu: "50m", memory: "16Mi" } },
          },
        ],
      },
    },
  },
});

const history = async () => (await p.api.call("GET", `${base()}/revisions`, { token })).body;
async function revisionCount(n: number) {
  await p.waitFor(`${n} revisions`, async () => (await history()).items?.length === n);
}

beforeAll(async () => {
  p = await startPlatform();
  ({ token } = await p.api.tenant("rollouts"));
  clusterId = await p.activeCluster(token, "prod");
  for (const [v, cause] of [
    ["1", "first"],
    ["2", "second"],
  ] as const) {
    const r = await p.api.call("PUT", base(), { token, body: manifest(v, cause) });
    expect(r.status, r.text).toBe(200);
    await revisionCount(Number(v));
  }
});
afterAll(() => p.close());

describe("deployment rollouts over the API", () => {
  it("lists the revision history newest first, with change-causes and the current one", async () => {
    const h = await history();
    expect(h.current).toBe(2);
    expect(
      h.items.map((r: { revision: number; changeCause: string; current: boolean }) => [
        r.revision,
        r.changeCause,
        r.current,
      ]),
    ).toEqual([
      [2, "second", true],
      [1, "first", false],
    ]);
    expect(h.items[1].template.spec.containers[0].env).toEqual([{ name: "VERSION", value: "1" }]);
    expect(h.items[0].replicaSet).toMatch(/^web-[0-9a-f]{10}$/);
  });

  it("rolls back to the previous revision, which becomes revision 3", async () => {
    const r = await p.api.call("POST", `${base()}/rollback`, { token, body: {} });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({
      rolledBack: true,
      toRevision: 1,
      message: "deployment.apps/web rolled back",
    });
    await p.waitFor("revision 3", async () => (await history()).current === 3);
    const h = await history();
    expect(
      h.items.map((x: { revision: number; changeCause: string }) => [x.revision, x.changeCause]),
    ).toEqual([
      [3, "first"],
      [2, "second"],
    ]);
    const d = await p.api.call("GET", base(), { token });
    expect(d.body.spec.template.spec.containers[0].env).toEqual([{ name: "VERSION", value: "1" }]);
  });

  it("rolls back to a given revision, skips the current one, refuses an unknown one", async () => {
    const again = await p.api.call("POST", `${base()}/rollback`, { token, body: { toRevision: 3 } });
    expect(again.body).toMatchObject({
      rolledBack: false,
      message: "skipped rollback (current template already matches revision 3)",
    });
    const missing = await p.api.call("POST", `${base()}/rollback`, { token, body: { toRevision: 99 } });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("NOT_FOUND");
    const to2 = await p.api.call("POST", `${base()}/rollback`, { token, body: { toRevision: 2 } });
    expect(to2.body).toMatchObject({ rolledBack: true, toRevision: 2 });
    await p.waitFor("revision 4", async () => (await history()).current === 4);
  });

  it("pauses and resumes as new generations, and refuses a rollback while paused", async () => {
    const before = (await p.api.call("GET", base(), { token })).body.metadata.generation as number;
    const paused = await p.api.call("POST", `${base()}/pause`, { token, body: {} });
    expect(paused.status, paused.text).toBe(200);
    expect(paused.body).toEqual({ paused: true, generation: before + 1 });
    expect((await p.api.call("POST", `${base()}/pause`, { token, body: {} })).body.generation).toBe(
      before + 1,
    );
    const refused = await p.api.call("POST", `${base()}/rollback`, { token, body: {} });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/is paused: resume it first/);
    expect((await p.api.call("GET", base(), { token })).body.spec.paused).toBe(true);
    const resumed = await p.api.call("POST", `${base()}/resume`, { token, body: {} });
    expect(resumed.body).toEqual({ paused: false, generation: before + 2 });
  });

  it("answers 404 for a deployment that does not exist, and for another tenant's", async () => {
    const none = `/v1/clusters/${clusterId}/deployments/default/nope`;
    expect((await p.api.call("POST", `${none}/rollback`, { token, body: {} })).status).toBe(404);
    expect((await p.api.call("GET", `${none}/revisions`, { token })).status).toBe(404);
    const other = await p.api.tenant("rollouts-other");
    for (const [method, suffix] of [
      ["GET", "revisions"],
      ["POST", "rollback"],
      ["POST", "pause"],
      ["POST", "resume"],
    ] as const)
      expect(
        (
          await p.api.call(method, `${base()}/${suffix}`, {
            token: other.token,
            ...(method === "POST" ? { body: {} } : {}),
          })
        ).status,
      ).toBe(404);
  });
});
