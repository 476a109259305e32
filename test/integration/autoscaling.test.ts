import { systemRows } from "@berth/db/testing";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agents, hostPortBlock, startAgents } from "./agent-support";
import { type Platform, startPlatform } from "./harness";

/**
 * Metrics to autoscaling end to end, with real containers: the node agent samples a deployment's
 * containers through Podman every second, the samples land in Postgres, and the autoscaler (a pass
 * a second, its samples averaged over 5 s) scales the deployment out while its pods burn CPU for a
 * bounded time, and back in once the (shortened) stabilisation window has passed after the load.
 */
const LOAD_SECONDS = 20;
const SCALE_DOWN_WINDOW_SECONDS = 5;
let p: Platform;
let agents: Agents;
let token: string;
let clusterId: string;

beforeAll(async () => {
  p = await startPlatform({ autoscaling: { metricsWindowMs: 5_000 } });
  agents = await startAgents(p);
  ({ token } = await p.api.tenant("autoscaling"));
  clusterId = await p.activeCluster(token, "hpa");
  const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
  await agents.start("hpa", {
    joinToken: jt.body.token,
    portRange: hostPortBlock(10),
    intervals: { metricsMs: 1_000, observeMs: 1_000 },
  });
}, 120_000);
afterAll(async () => {
  await agents?.close();
  await p?.close();
});

const call = (method: string, path: string, body?: unknown) =>
  p.api.call(method, `/v1/clusters/${clusterId}/${path}`, { token, body });

describe("horizontal pod autoscaling on real containers", () => {
  it("scales a deployment under bounded CPU load from 1 to 3 within the HPA's window, and back to 1 after the stabilisation window", async () => {
    // Each pod burns CPU (capped at 200m by its limit, twice its request) for LOAD_SECONDS, then idles.
    const put = await call("PUT", "deployments/default/burn", {
      spec: {
        replicas: 1,
        template: {
          spec: {
            containers: [
              {
                name: "burn",
                image: "localhost/berth/demo-web:latest",
                command: [
                  "/bin/sh",
                  "-c",
                  `timeout ${LOAD_SECONDS} sh -c 'while :; do :; done'; exec sleep 3600`,
                ],
                resources: {
                  requests: { cpu: "100m", memory: "16Mi" },
                  limits: { cpu: "200m", memory: "32Mi" },
                },
              },
            ],
          },
        },
      },
    });
    expect(put.status, put.text).toBe(200);
    const hpa = await call("PUT", "horizontalpodautoscalers/default/burn", {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "burn" },
        minReplicas: 1,
        maxReplicas: 3,
        metrics: [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
          },
        ],
        behavior: { scaleDown: { stabilizationWindowSeconds: SCALE_DOWN_WINDOW_SECONDS } },
      },
    });
    expect(hpa.status, hpa.text).toBe(200);

    const started = Date.now();
    const timeline: string[] = [];
    let peak = 0;
    let peakAt = 0;
    let topCpu = 0;
    let backAt = 0;
    while (Date.now() - started < 120_000) {
      const d = (await call("GET", "deployments/default/burn")).body;
      const h = (await call("GET", "horizontalpodautoscalers/default/burn")).body;
      const top = (await call("GET", "metrics/pods?namespace=default")).body.items as { cpuMillis: number }[];
      const cpu = top.map((t) => t.cpuMillis);
      topCpu = Math.max(topCpu, ...cpu);
      const t = Math.round((Date.now() - started) / 1000);
      const util = h.status?.currentMetrics?.[0]?.resource?.current?.averageUtilization;
      timeline.push(
        `t=${String(t).padStart(3)}s spec.replicas=${d.spec.replicas} ready=${d.status?.readyReplicas ?? 0} hpa.desired=${h.status?.desiredReplicas} utilization=${util ?? "-"}% top=[${cpu.join(",")}]m`,
      );
      if (d.spec.replicas > peak) {
        peak = d.spec.replicas;
        peakAt = t;
      }
      if (peak === 3 && d.spec.replicas === 1 && (d.status?.replicas ?? 0) === 1) {
        backAt = t;
        break;
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
    console.log(`replica counts over time:\n${timeline.join("\n")}`);
    expect(peak, timeline.join("\n")).toBe(3);
    // Scaled out while the first pod still burned.
    expect(peakAt).toBeLessThan(LOAD_SECONDS + 5);
    expect(topCpu).toBeGreaterThanOrEqual(100);
    // Back in once the last load ended and the window passed, not before the window.
    expect(backAt, timeline.join("\n")).toBeGreaterThan(peakAt + SCALE_DOWN_WINDOW_SECONDS);

    const events = (await systemRows(
      p.api.deps.db,
      sql`select reason, message from events where object_kind = 'HorizontalPodAutoscaler' and cluster_id = ${clusterId} order by created_at`,
    )) as { reason: string; message: string }[];
    const rescales = events.filter((e) => e.reason === "SuccessfulRescale").map((e) => e.message);
    // Out in one step, or two when the first evaluation saw the load only starting (1 → 2 → 3).
    expect(rescales[0]).toMatch(
      /^New size: [23]; reason: cpu resource utilization \(percentage of request\) above target$/,
    );
    expect(rescales).toContain(
      "New size: 3; reason: cpu resource utilization (percentage of request) above target",
    );
    expect(rescales.at(-1)).toBe("New size: 1; reason: All metrics below target");
    const status = (await call("GET", "horizontalpodautoscalers/default/burn")).body.status;
    expect(status).toMatchObject({ desiredReplicas: 1, lastScaleTime: expect.any(String) });
    expect(status.conditions.map((c: { type: string }) => c.type).sort()).toEqual([
      "AbleToScale",
      "ScalingActive",
      "ScalingLimited",
    ]);
  }, 180_000);
});
