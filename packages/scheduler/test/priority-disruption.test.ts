import { describe, expect, it } from "vitest";
import { budgetCovers, disruptionsAllowed, resolvePriority, SchedulerInputError } from "../src/index";
import type { DisruptionBudget } from "../src/types";

describe("PriorityClass values", () => {
  it.each([2 ** 31, -(2 ** 31), 0])("takes %d", (value) => {
    expect(resolvePriority([{ name: "c", value }], "c")).toMatchObject({ priority: value });
  });

  it.each([2 ** 31 + 1, -(2 ** 31) - 1, 1.5, Number.NaN])(
    "refuses %d, named or as the global default",
    (value) => {
      const classes = [{ name: "c", value, globalDefault: true }];
      expect(() => resolvePriority(classes, "c")).toThrow("PriorityClass c: value must be a 32-bit integer");
      expect(() => resolvePriority(classes, undefined)).toThrow(SchedulerInputError);
    },
  );

  it("ignores classes that are not the global default when the pod names none", () => {
    const classes = [
      { name: "low", value: -5 },
      { name: "default", value: 7, globalDefault: true, preemptionPolicy: "Never" as const },
      { name: "higher-default", value: 9, globalDefault: true },
    ];
    expect(resolvePriority(classes, undefined)).toEqual({
      priority: 7,
      preemptionPolicy: "Never",
      priorityClassName: "default",
    });
    expect(resolvePriority(classes, "")).toMatchObject({ priorityClassName: "default" });
    expect(resolvePriority([{ name: "low", value: -5 }], undefined)).toMatchObject({ priority: 0 });
  });
});

describe("PodDisruptionBudget limits", () => {
  it.each([
    { spec: { maxUnavailable: 9 }, expected: 5, healthy: 5, allowed: 5 },
    { spec: { maxUnavailable: 0 }, expected: 5, healthy: 5, allowed: 0 },
    { spec: { maxUnavailable: "100%" as const }, expected: 4, healthy: 3, allowed: 3 },
    { spec: { maxUnavailable: "1%" as const }, expected: 1, healthy: 1, allowed: 1 },
    { spec: { minAvailable: "0%" as const }, expected: 4, healthy: 4, allowed: 4 },
    { spec: { minAvailable: "34%" as const }, expected: 3, healthy: 3, allowed: 1 },
    { spec: { minAvailable: 0 }, expected: 0, healthy: 2, allowed: 2 },
    { spec: { minAvailable: 5 }, expected: 5, healthy: 2, allowed: 0 },
    // maxUnavailable wins when both are set, as in kube.
    { spec: { minAvailable: 5, maxUnavailable: 1 }, expected: 5, healthy: 5, allowed: 1 },
  ])(
    "$spec with $expected expected and $healthy healthy allows $allowed",
    ({ spec, expected, healthy, allowed }) => {
      expect(disruptionsAllowed(spec, expected, healthy)).toBe(allowed);
    },
  );

  it.each([
    [{ minAvailable: -1 }, "PodDisruptionBudget value -1 must be a non-negative integer"],
    [{ maxUnavailable: 1.5 }, "PodDisruptionBudget value 1.5 must be a non-negative integer"],
    [{ minAvailable: "12.5%" }, 'PodDisruptionBudget value "12.5%" is not an integer or a percentage'],
    [{ minAvailable: "x50%" }, 'PodDisruptionBudget value "x50%" is not an integer or a percentage'],
    [{ maxUnavailable: "50%x" }, 'PodDisruptionBudget value "50%x" is not an integer or a percentage'],
    [{ maxUnavailable: "%" }, 'PodDisruptionBudget value "%" is not an integer or a percentage'],
    [{}, "a PodDisruptionBudget needs minAvailable or maxUnavailable"],
  ])("refuses %j", (spec, message) => {
    expect(() => disruptionsAllowed(spec as never, 4, 4)).toThrow(message);
  });
});

describe("which pods a budget covers", () => {
  const budget = (selector?: DisruptionBudget["selector"]): DisruptionBudget => ({
    tenantId: "t",
    namespace: "ns",
    name: "pdb",
    disruptionsAllowed: 1,
    ...(selector ? { selector } : {}),
  });
  const web = { tenantId: "t", namespace: "ns", labels: { app: "web" } };

  it.each([
    { what: "a matching pod", b: budget({ matchLabels: { app: "web" } }), p: web, covers: true },
    {
      what: "a pod matched by expressions only",
      b: budget({ matchExpressions: [{ key: "app", operator: "In", values: ["web"] }] }),
      p: web,
      covers: true,
    },
    {
      what: "a pod of another tenant",
      b: budget({ matchLabels: { app: "web" } }),
      p: { ...web, tenantId: "u" },
      covers: false,
    },
    {
      what: "a pod of another namespace",
      b: budget({ matchLabels: { app: "web" } }),
      p: { ...web, namespace: "other" },
      covers: false,
    },
    { what: "a pod with other labels", b: budget({ matchLabels: { app: "db" } }), p: web, covers: false },
    { what: "any pod, for no selector", b: budget(), p: web, covers: false },
    { what: "any pod, for an empty selector", b: budget({}), p: web, covers: false },
    {
      what: "any pod, for empty lists",
      b: budget({ matchLabels: {}, matchExpressions: [] }),
      p: web,
      covers: false,
    },
    {
      what: "a pod without labels",
      b: budget({ matchLabels: { app: "web" } }),
      p: { tenantId: "t", namespace: "ns" },
      covers: false,
    },
  ])("$what: $covers", ({ b, p, covers }) => {
    expect(budgetCovers(b, p)).toBe(covers);
  });
});
