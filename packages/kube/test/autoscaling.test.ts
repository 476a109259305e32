import { describe, expect, it } from "vitest";
import {
  autoscalePass,
  DEFAULT_SCALE_DOWN,
  DEFAULT_SCALE_UP,
  emptyHistory,
  type HorizontalPodAutoscalerSpec,
  type HpaHistory,
  type HpaPod,
  horizontalPodAutoscalerSchema,
  normaliseHorizontalPodAutoscaler,
  normaliseWithBehavior,
  replicasForMetric,
} from "../src";

const cpu50 = { resource: "cpu", type: "Utilization", averageUtilization: 50 } as const;
/** Running, ready pods requesting 100 m each, using what is given (millicores). */
const pods = (...usage: (number | undefined)[]): HpaPod[] =>
  usage.map((u, i) => ({
    name: `p${i}`,
    phase: "Running",
    ready: true,
    deleting: false,
    requests: { cpu: 100, memory: 64 * 2 ** 20 },
    usage: u === undefined ? undefined : { cpu: u, memory: 32 * 2 ** 20 },
  }));
const spec = (over: Partial<HorizontalPodAutoscalerSpec> = {}): HorizontalPodAutoscalerSpec => ({
  scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
  minReplicas: 1,
  maxReplicas: 10,
  metrics: [cpu50],
  behavior: { scaleUp: DEFAULT_SCALE_UP, scaleDown: DEFAULT_SCALE_DOWN },
  ...over,
});

describe("the HorizontalPodAutoscaler kind", () => {
  it("takes Kubernetes' defaults: minReplicas 1, cpu at 80 %, scale up 4 pods or 100 % per 15 s, down after 300 s", () => {
    const h = horizontalPodAutoscalerSchema.parse({
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, maxReplicas: 5 },
    });
    const s = normaliseHorizontalPodAutoscaler(h);
    expect(s.minReplicas).toBe(1);
    expect(s.metrics).toEqual([{ resource: "cpu", type: "Utilization", averageUtilization: 80 }]);
    expect(s.behavior.scaleUp).toEqual({
      stabilizationWindowSeconds: 0,
      selectPolicy: "Max",
      policies: [
        { type: "Pods", value: 4, periodSeconds: 15 },
        { type: "Percent", value: 100, periodSeconds: 15 },
      ],
    });
    expect(s.behavior.scaleDown).toEqual({
      stabilizationWindowSeconds: 300,
      selectPolicy: "Max",
      policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
    });
  });

  it("refuses what it cannot do, naming the field", () => {
    const base = { scaleTargetRef: { kind: "Deployment", name: "web" }, maxReplicas: 3 };
    expect(() => normaliseHorizontalPodAutoscaler({ spec: { ...base, minReplicas: 4 } })).toThrow(
      /spec.maxReplicas/,
    );
    expect(() =>
      normaliseHorizontalPodAutoscaler({
        spec: { ...base, scaleTargetRef: { kind: "StatefulSet", name: "db" } },
      }),
    ).toThrow(/spec.scaleTargetRef.kind/);
    expect(() =>
      normaliseHorizontalPodAutoscaler({ spec: { ...base, metrics: [{ type: "Pods" }] } }),
    ).toThrow(/spec.metrics\[0\].type/);
    const avg = normaliseHorizontalPodAutoscaler({
      spec: {
        ...base,
        metrics: [
          {
            type: "Resource",
            resource: { name: "memory", target: { type: "AverageValue", averageValue: "64Mi" } },
          },
        ],
      },
    });
    expect(avg.metrics).toEqual([{ resource: "memory", type: "AverageValue", averageValue: 64 * 2 ** 20 }]);
  });
});

describe("replicas for one metric (kube's replica calculator)", () => {
  it("follows the documented formula: ceil(current × currentMetric / desiredMetric)", () => {
    // Kubernetes' docs: 200m used against a 100m target doubles; 50m halves.
    const avg100 = { resource: "cpu", type: "AverageValue", averageValue: 100 } as const;
    expect(replicasForMetric(avg100, 2, pods(200, 200))).toMatchObject({ replicas: 4, averageValue: 200 });
    expect(replicasForMetric(avg100, 4, pods(50, 50, 50, 50))).toMatchObject({ replicas: 2 });
    // Utilisation of requests: 3 pods at 90 % of 100m against 50 % → ceil(1.8 × 3) = 6.
    expect(replicasForMetric(cpu50, 3, pods(90, 90, 90))).toMatchObject({
      replicas: 6,
      averageUtilization: 90,
    });
  });

  it("changes nothing within the 10 % tolerance", () => {
    expect(replicasForMetric(cpu50, 4, pods(54, 54, 54, 54))).toMatchObject({ replicas: 4 });
    expect(replicasForMetric(cpu50, 4, pods(46, 46, 46, 46))).toMatchObject({ replicas: 4 });
    expect(replicasForMetric(cpu50, 4, pods(56, 56, 56, 56))).toMatchObject({ replicas: 5 });
  });

  it("assumes missing pods use 100 % of their request when scaling down and nothing when scaling up", () => {
    // Down: 2 measured at 10 %, one missing counted at 100 %: (10+10+100)/3 = 40 % → ratio 0.8 → ceil(2.4) = 3.
    expect(replicasForMetric(cpu50, 3, pods(10, 10, undefined))).toMatchObject({ replicas: 3 });
    // Up: 2 measured at 100 %, one missing at 0 %: 66 % → ratio 1.32 → ceil(3.96) = 4.
    expect(replicasForMetric(cpu50, 3, pods(100, 100, undefined))).toMatchObject({ replicas: 4 });
  });

  it("counts unready pods as using nothing when scaling up, and keeps the count if that reverses the direction", () => {
    const p = pods(60, 60, 10);
    const unready = p.map((x, i) => (i === 2 ? { ...x, ready: false } : x));
    // Measured: 60 % on 2 ready pods → ratio 1.2; with the unready pod at 0: 40 % → 0.8 < 1: no change.
    expect(replicasForMetric(cpu50, 3, unready)).toMatchObject({ replicas: 3 });
    const hot = pods(100, 100, 10).map((x, i) => (i === 2 ? { ...x, ready: false } : x));
    // 100 % on 2 ready → 2.0; with the unready at 0: 66 % → 1.32 → ceil(3.96) = 4.
    expect(replicasForMetric(cpu50, 3, hot)).toMatchObject({ replicas: 4 });
  });

  it("ignores deleting and failed pods, and fails without any sample", () => {
    const p = pods(100, 100, 100);
    const some = [p[0], { ...p[1], deleting: true }, { ...p[2], phase: "Failed" }] as HpaPod[];
    expect(replicasForMetric(cpu50, 3, some)).toMatchObject({ replicas: 2 });
    expect(replicasForMetric(cpu50, 2, pods(undefined, undefined))).toMatchObject({
      ok: false,
      reason: "FailedGetResourceMetric",
    });
    expect(replicasForMetric(cpu50, 1, [])).toMatchObject({ ok: false });
  });
});

describe("behavior: stabilisation and scaling policies", () => {
  const now = 1_000_000_000;
  it("scales up by at most max(4 pods, 100 %) per 15 s by default", () => {
    const first = normaliseWithBehavior(spec({ maxReplicas: 20 }), 1, 20, emptyHistory(), now);
    expect(first).toMatchObject({ replicas: 5, reason: "ScaleUpLimit" });
    const afterUp: HpaHistory = { ...first.history, scaleUps: [{ at: now, change: 4 }] };
    // Within the same 15 s period the scale-up already done counts against the limit.
    expect(normaliseWithBehavior(spec({ maxReplicas: 20 }), 5, 20, afterUp, now + 5_000).replicas).toBe(5);
    // A period later: max(5 + 4, 5 × 2) = 10.
    expect(normaliseWithBehavior(spec({ maxReplicas: 20 }), 5, 20, afterUp, now + 16_000)).toMatchObject({
      replicas: 10,
      reason: "ScaleUpLimit",
    });
  });

  it("holds a scale down for the 300 s window: the highest recommendation of the window wins", () => {
    let h = emptyHistory();
    const s = spec();
    const r1 = normaliseWithBehavior(s, 5, 5, h, now);
    h = r1.history;
    const r2 = normaliseWithBehavior(s, 5, 2, h, now + 60_000);
    expect(r2.replicas).toBe(5);
    const r3 = normaliseWithBehavior(s, 5, 2, r2.history, now + 301_000);
    expect(r3).toMatchObject({ replicas: 2, reason: "DesiredWithinRange" });
  });

  it("never scales a new autoscaler down at once: its window starts with the current count", () => {
    expect(normaliseWithBehavior(spec(), 6, 1, emptyHistory(), now).replicas).toBe(6);
  });

  it("follows Kubernetes' documented scale-down policy example: 10 % or 4 pods per minute, whichever removes more", () => {
    const s = spec({
      minReplicas: 1,
      maxReplicas: 100,
      behavior: {
        scaleUp: DEFAULT_SCALE_UP,
        scaleDown: {
          stabilizationWindowSeconds: 0,
          selectPolicy: "Max",
          policies: [
            { type: "Pods", value: 4, periodSeconds: 60 },
            { type: "Percent", value: 10, periodSeconds: 60 },
          ],
        },
      },
    });
    // 80 replicas to 8: 10 % is 8 pods, more than 4.
    expect(normaliseWithBehavior(s, 80, 8, emptyHistory(), now)).toMatchObject({
      replicas: 72,
      reason: "ScaleDownLimit",
    });
    // At 72: 10 % is 7.2, and the count is rounded so that 8 pods go (trunc(64.8) = 64).
    expect(normaliseWithBehavior(s, 72, 8, emptyHistory(), now).replicas).toBe(64);
    // At 30: 10 % is 3, fewer than 4 pods: 4 go.
    expect(normaliseWithBehavior(s, 30, 8, emptyHistory(), now).replicas).toBe(26);
  });

  it("keeps to [min, max] with kube's reasons, and never scales down when scale-down is Disabled", () => {
    expect(normaliseWithBehavior(spec({ maxReplicas: 3 }), 2, 9, emptyHistory(), now)).toMatchObject({
      replicas: 3,
      reason: "TooManyReplicas",
    });
    const noWindow = { ...DEFAULT_SCALE_DOWN, stabilizationWindowSeconds: 0 };
    const s = spec({ minReplicas: 2, behavior: { scaleUp: DEFAULT_SCALE_UP, scaleDown: noWindow } });
    expect(normaliseWithBehavior(s, 4, 1, emptyHistory(), now)).toMatchObject({
      replicas: 2,
      reason: "TooFewReplicas",
    });
    const disabled = spec({
      behavior: { scaleUp: DEFAULT_SCALE_UP, scaleDown: { ...noWindow, selectPolicy: "Disabled" } },
    });
    expect(normaliseWithBehavior(disabled, 4, 1, emptyHistory(), now).replicas).toBe(4);
  });
});

describe("one pass of the autoscaler", () => {
  const now = 2_000_000_000;
  it("scales up, says why in an event, and records the scale for the policies", () => {
    const r = autoscalePass({
      spec: spec(),
      now,
      targetReplicas: 2,
      pods: pods(100, 100),
      history: emptyHistory(),
    });
    expect(r.scaleTo).toBe(4);
    expect(r.events).toEqual([
      {
        type: "Normal",
        reason: "SuccessfulRescale",
        message: "New size: 4; reason: cpu resource utilization (percentage of request) above target",
      },
    ]);
    expect(r.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ["AbleToScale", "True", "SucceededRescale"],
      ["ScalingActive", "True", "ValidMetricFound"],
      ["ScalingLimited", "False", "DesiredWithinRange"],
    ]);
    expect(r.currentMetrics).toEqual([
      {
        type: "Resource",
        resource: { name: "cpu", current: { averageValue: "100m", averageUtilization: 100 } },
      },
    ]);
    expect(r.history.scaleUps).toEqual([{ at: now, change: 2 }]);
  });

  it("brings a count outside [min, max] in at once, and is disabled by a target of zero", () => {
    expect(
      autoscalePass({
        spec: spec({ maxReplicas: 3 }),
        now,
        targetReplicas: 7,
        pods: [],
        history: emptyHistory(),
      }),
    ).toMatchObject({ scaleTo: 3 });
    const off = autoscalePass({ spec: spec(), now, targetReplicas: 0, pods: [], history: emptyHistory() });
    expect(off.scaleTo).toBeNull();
    expect(off.conditions).toContainEqual(
      expect.objectContaining({ type: "ScalingActive", reason: "ScalingDisabled" }),
    );
  });

  it("says so when it cannot get metrics or the target", () => {
    const r = autoscalePass({
      spec: spec(),
      now,
      targetReplicas: 2,
      pods: pods(undefined, undefined),
      history: emptyHistory(),
    });
    expect(r.scaleTo).toBeNull();
    expect(r.conditions).toContainEqual(
      expect.objectContaining({ type: "ScalingActive", status: "False", reason: "FailedGetResourceMetric" }),
    );
    expect(r.events[0]).toMatchObject({ type: "Warning", reason: "FailedComputeMetricsReplicas" });
    const gone = autoscalePass({
      spec: spec(),
      now,
      targetReplicas: null,
      pods: [],
      history: emptyHistory(),
    });
    expect(gone.conditions).toEqual([
      expect.objectContaining({ type: "AbleToScale", status: "False", reason: "FailedGetScale" }),
    ]);
  });
});
