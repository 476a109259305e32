import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { rolloutState } from "../src/commands/rollout";
import { addDecimals } from "../src/commands/usage";
import type { Json } from "../src/json";
import { age, parseFormat, render, table } from "../src/output";
import { podStatus, pods } from "../src/resources/objects";

const NOW = new Date("2026-12-03T12:00:00Z");
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString();

const pod = (
  name: string,
  o: { phase?: string; reason?: string; ready?: boolean; restarts?: number; node?: string } = {},
): Json => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default", creationTimestamp: ago(95) },
  spec: { containers: [{ name: "web" }, { name: "sidecar" }] },
  status: {
    phase: o.phase ?? "Running",
    podIP: "10.0.0.7",
    containerStatuses: [
      { name: "web", ready: o.ready ?? true },
      { name: "sidecar", ready: true },
    ],
  },
  restarts: o.restarts ?? 0,
  reason: o.reason ?? null,
  nodeName: o.node ?? "node-a",
  terminating: false,
});

describe("tables", () => {
  it("aligns columns three spaces apart, headings in capitals, <none> for what is missing", () => {
    expect(
      table(
        ["name", "value"],
        [
          ["a", 1],
          ["longer-name", null],
        ],
      ),
    ).toBe("NAME          VALUE\na             1\nlonger-name   <none>\n");
  });

  it("prints pods with kubectl's columns, more with -o wide", () => {
    const items = [
      pod("web-1"),
      pod("web-2", { phase: "Pending", ready: false, reason: "Unschedulable" }),
      pod("web-3", { reason: "CrashLoopBackOff", restarts: 4, ready: false }),
    ];
    const opts = { columns: pods.columns, nameOf: (p: Json) => `pod/${(p.metadata as Json).name}`, now: NOW };
    expect(render(items, { ...opts, format: "table" })).toBe(
      [
        "NAME    READY   STATUS             RESTARTS   AGE",
        "web-1   2/2     Running            0          95s",
        "web-2   1/2     Pending            0          95s",
        "web-3   1/2     CrashLoopBackOff   4          95s",
        "",
      ].join("\n"),
    );
    expect(render(items.slice(0, 1), { ...opts, format: "wide" })).toBe(
      "NAME    READY   STATUS    RESTARTS   AGE   IP         NODE     NOMINATED NODE\nweb-1   2/2     Running   0          95s   10.0.0.7   node-a   <none>\n",
    );
    expect(render(items, { ...opts, format: "name" })).toBe("pod/web-1\npod/web-2\npod/web-3\n");
  });

  it("prints a List for many objects as JSON or YAML, the object itself for one", () => {
    const opts = { columns: pods.columns, nameOf: () => "", now: NOW };
    const list = JSON.parse(render([pod("a"), pod("b")], { ...opts, format: "json" }));
    expect(list).toMatchObject({
      apiVersion: "v1",
      kind: "List",
      items: [{ metadata: { name: "a" } }, { metadata: { name: "b" } }],
    });
    expect(parse(render([pod("a")], { ...opts, format: "yaml", single: true }))).toMatchObject({
      kind: "Pod",
      metadata: { name: "a" },
    });
  });

  it("refuses an output format it does not know, as a usage error", () => {
    expect(parseFormat(undefined)).toBe("table");
    expect(() => parseFormat("xml")).toThrow(
      expect.objectContaining({
        exitCode: 2,
        message: "-o xml: unknown output format (one of wide, json, yaml, name)",
      }),
    );
  });
});

describe("what the columns say", () => {
  it("gives ages as kubectl does", () => {
    expect(
      [
        0,
        59,
        119,
        120,
        330,
        600,
        3 * 3600 - 1,
        3 * 3600,
        5 * 3600 + 1800,
        30 * 3600,
        3 * 86400 + 7200,
        40 * 86400,
        800 * 86400,
      ].map((s) => age(ago(s), NOW)),
    ).toEqual(["0s", "59s", "119s", "2m", "5m30s", "10m", "179m", "3h", "5h30m", "30h", "3d2h", "40d", "2y"]);
    expect(age(null, NOW)).toBe("<unknown>");
  });

  it("says Terminating for a pod being deleted, its reason when it has one, else its phase", () => {
    expect(podStatus({ ...pod("a"), terminating: true })).toBe("Terminating");
    expect(podStatus(pod("a", { reason: "Evicted", phase: "Failed" }))).toBe("Evicted");
    expect(podStatus(pod("a", { reason: "Unschedulable", phase: "Pending" }))).toBe("Pending");
  });

  it("follows a rollout as kubectl rollout status does", () => {
    const d = (g: number, observed: number, s: Record<string, number>) => ({
      metadata: { name: "web", generation: g },
      spec: { replicas: 3 },
      status: { observedGeneration: observed, ...s },
    });
    expect(rolloutState(d(2, 1, {})).state).toBe("waiting for the deployment spec update to be observed");
    expect(rolloutState(d(2, 2, { updatedReplicas: 1, replicas: 3 })).state).toBe(
      "1 out of 3 new replicas have been updated",
    );
    expect(rolloutState(d(2, 2, { updatedReplicas: 3, replicas: 4 })).state).toBe(
      "1 old replicas are pending termination",
    );
    expect(rolloutState(d(2, 2, { updatedReplicas: 3, replicas: 3, availableReplicas: 2 })).state).toBe(
      "2 of 3 updated replicas are available",
    );
    expect(rolloutState(d(2, 2, { updatedReplicas: 3, replicas: 3, availableReplicas: 3 }))).toEqual({
      done: true,
      state: "successfully rolled out",
    });
  });

  it("adds usage amounts exactly, never as floats", () => {
    expect(addDecimals(["0.100000", "0.200000"])).toBe("0.300000");
    expect(addDecimals(["1.5", "0.25", "2"])).toBe("3.75");
    expect(addDecimals([])).toBe("0");
  });
});
