import { createTestApi, type TestApi } from "@berth/control-api/testing";
import { createTestProvisionerDeps, startTestProvisioner } from "@berth/provisioner/testing";

/** The real control API and the real provisioner's workers, in this process, on one test database. */
export interface Platform {
  api: TestApi;
  close(): Promise<void>;
  waitFor<T>(
    what: string,
    probe: () => Promise<T | undefined | null | false>,
    timeoutMs?: number,
  ): Promise<T>;
  activeCluster(token: string, name: string): Promise<string>;
}

export async function startPlatform(
  opts: {
    timings?: Parameters<typeof createTestProvisionerDeps>[0]["timings"];
    schedules?: Parameters<typeof createTestProvisionerDeps>[0]["schedules"];
    autoscaling?: Parameters<typeof createTestProvisionerDeps>[0]["autoscaling"];
    webhooks?: Parameters<typeof createTestProvisionerDeps>[0]["webhooks"];
    /** Berth's registry, whose tags the provisioner pins to digests (default: none). */
    imageResolver?: Parameters<typeof createTestProvisionerDeps>[0]["imageResolver"];
    /** The control API's own options (e.g. the node agent it serves). */
    api?: Parameters<typeof createTestApi>[0];
  } = {},
): Promise<Platform> {
  const api = await createTestApi(opts.api);
  const workers = await startTestProvisioner(
    createTestProvisionerDeps({
      db: api.deps.db,
      redis: api.deps.redis,
      queues: api.deps.queues,
      master: api.deps.master,
      ...(opts.timings ? { timings: opts.timings } : {}),
      ...(opts.schedules ? { schedules: opts.schedules } : {}),
      ...(opts.autoscaling ? { autoscaling: opts.autoscaling } : {}),
      ...(opts.webhooks ? { webhooks: opts.webhooks } : {}),
      ...(opts.imageResolver ? { imageResolver: opts.imageResolver } : {}),
    }),
  );
  const waitFor: Platform["waitFor"] = async (what, probe, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return {
    api,
    waitFor,
    async activeCluster(token, name) {
      const c = await api.call("POST", "/v1/clusters", { token, body: { name } });
      if (c.status !== 202) throw new Error(`create failed: ${c.text}`);
      await waitFor(
        `cluster ${name} active`,
        async () => (await api.call("GET", `/v1/clusters/${c.body.id}`, { token })).body.status === "active",
      );
      return c.body.id as string;
    },
    async close() {
      await workers.stop();
      await api.close();
    },
  };
}
