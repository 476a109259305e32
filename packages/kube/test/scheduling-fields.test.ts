import { describe, expect, it } from "vitest";
import { renderPodSpec, resolveAffinityLabelKeys, resolveSpreadLabelKeys } from "../src/index";
import { admit, refusal } from "./support";

const affinity = {
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [
        {
          matchExpressions: [
            { key: "topology.kubernetes.io/zone", operator: "In", values: ["eu-1a", "eu-1b"] },
          ],
        },
        { matchFields: [{ key: "metadata.name", operator: "In", values: ["node-7"] }] },
      ],
    },
    preferredDuringSchedulingIgnoredDuringExecution: [
      { weight: 10, preference: { matchExpressions: [{ key: "disk", operator: "Exists" }] } },
    ],
  },
  podAntiAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: [
      { labelSelector: { matchLabels: { app: "web" } }, topologyKey: "kubernetes.io/hostname" },
    ],
    preferredDuringSchedulingIgnoredDuringExecution: [
      {
        weight: 100,
        podAffinityTerm: {
          labelSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["db"] }] },
          namespaceSelector: {},
          topologyKey: "topology.kubernetes.io/zone",
        },
      },
    ],
  },
  podAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: [
      { labelSelector: { matchLabels: { app: "cache" } }, namespaces: ["infra"], topologyKey: "rack" },
    ],
  },
};
const spread = [
  {
    maxSkew: 1,
    topologyKey: "topology.kubernetes.io/zone",
    whenUnsatisfiable: "DoNotSchedule",
    labelSelector: { matchLabels: { app: "web" } },
    minDomains: 3,
    nodeTaintsPolicy: "Honor",
  },
  { maxSkew: 2, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway" },
];

describe("affinity and topologySpreadConstraints", () => {
  it("are stored as written and rendered back unchanged", () => {
    const d = admit({ affinity, topologySpreadConstraints: spread });
    expect(d.template.affinity).toEqual(affinity);
    expect(d.template.topologySpreadConstraints).toEqual(spread);
    const rendered = renderPodSpec(d.template) as Record<string, unknown>;
    expect(rendered.affinity).toEqual(affinity);
    expect(rendered.topologySpreadConstraints).toEqual(spread);
  });

  it("leave a template without them as it was (no empty fields, same template hash)", () => {
    const d = admit({ affinity: {}, topologySpreadConstraints: [] });
    expect(d.template).not.toHaveProperty("affinity");
    expect(d.template).not.toHaveProperty("topologySpreadConstraints");
    const rendered = renderPodSpec(d.template) as Record<string, unknown>;
    expect(rendered).not.toHaveProperty("affinity");
    expect(rendered).not.toHaveProperty("topologySpreadConstraints");
  });

  const at = "spec.template.spec";
  it.each([
    [
      "no node selector terms",
      {
        affinity: {
          nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } },
        },
      },
      `${at}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`,
      "must have at least one node selector term",
    ],
    [
      "In without values",
      {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In" }] }],
            },
          },
        },
      },
      `${at}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values`,
      "must be specified when `operator` is 'In' or 'NotIn'",
    ],
    [
      "Gt with two values",
      {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: "cores", operator: "Gt", values: ["1", "2"] }] },
              ],
            },
          },
        },
      },
      `${at}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values`,
      "must be specified single value when `operator` is 'Lt' or 'Gt'",
    ],
    [
      "a field other than metadata.name",
      {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchFields: [{ key: "spec.unschedulable", operator: "In", values: ["x"] }] },
              ],
            },
          },
        },
      },
      `${at}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].key`,
      'supported values: "metadata.name"',
    ],
    [
      "a weight of 0",
      {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 0, preference: {} }],
          },
        },
      },
      `${at}.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight`,
      "must be in the range 1-100",
    ],
    [
      "a weight of 101",
      {
        affinity: {
          podAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 101, podAffinityTerm: { topologyKey: "kubernetes.io/hostname" } },
            ],
          },
        },
      },
      `${at}.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight`,
      "must be in the range 1-100",
    ],
    [
      "a term without topologyKey",
      {
        affinity: {
          podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "" }] },
        },
      },
      `${at}.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey`,
      "can not be empty",
    ],
    [
      "Exists with values in a label selector",
      {
        affinity: {
          podAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              {
                topologyKey: "zone",
                labelSelector: { matchExpressions: [{ key: "app", operator: "Exists", values: ["a"] }] },
              },
            ],
          },
        },
      },
      `${at}.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].values`,
      "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
    ],
    [
      "maxSkew 0",
      {
        topologySpreadConstraints: [{ maxSkew: 0, topologyKey: "zone", whenUnsatisfiable: "DoNotSchedule" }],
      },
      `${at}.topologySpreadConstraints[0].maxSkew`,
      "must be greater than zero",
    ],
    [
      "minDomains with ScheduleAnyway",
      {
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "ScheduleAnyway", minDomains: 2 },
        ],
      },
      `${at}.topologySpreadConstraints[0].minDomains`,
      "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway",
    ],
    [
      "the same key and action twice",
      {
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "DoNotSchedule" },
          { maxSkew: 2, topologyKey: "zone", whenUnsatisfiable: "DoNotSchedule" },
        ],
      },
      `${at}.topologySpreadConstraints[1]`,
      'Duplicate value: "{zone, DoNotSchedule}"',
    ],
    [
      "matchLabelKeys without a labelSelector",
      {
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: "zone",
            whenUnsatisfiable: "DoNotSchedule",
            matchLabelKeys: ["pod-template-hash"],
          },
        ],
      },
      `${at}.topologySpreadConstraints[0].matchLabelKeys`,
      "must not be specified when labelSelector is not set",
    ],
    [
      "a matchLabelKeys key the labelSelector has too",
      {
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: "zone",
            whenUnsatisfiable: "DoNotSchedule",
            labelSelector: { matchLabels: { app: "web" } },
            matchLabelKeys: ["app"],
          },
        ],
      },
      `${at}.topologySpreadConstraints[0].matchLabelKeys[0]`,
      "exists in both matchLabelKeys and labelSelector",
    ],
    [
      "a key in both matchLabelKeys and mismatchLabelKeys",
      {
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              {
                topologyKey: "kubernetes.io/hostname",
                labelSelector: { matchLabels: { app: "web" } },
                matchLabelKeys: ["tenant"],
                mismatchLabelKeys: ["tenant"],
              },
            ],
          },
        },
      },
      `${at}.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].matchLabelKeys[0]`,
      "exists in both matchLabelKeys and mismatchLabelKeys",
    ],
  ])("refuses %s, naming the field as Kubernetes does", (_, podSpec, path, message) => {
    expect(refusal(podSpec)).toEqual({ path, message });
  });
});

describe("matchLabelKeys and mismatchLabelKeys", () => {
  const spread = {
    maxSkew: 1,
    topologyKey: "topology.kubernetes.io/zone",
    whenUnsatisfiable: "DoNotSchedule" as const,
    labelSelector: { matchLabels: { app: "web" } },
    matchLabelKeys: ["pod-template-hash", "absent"],
  };
  const labels = { app: "web", "pod-template-hash": "5d4f8c7b9" };

  it("are kept as written on the template, and resolved against a pod's labels as kube's API server merges them", () => {
    const d = admit({ topologySpreadConstraints: [spread] });
    expect(d.template.topologySpreadConstraints?.[0]?.matchLabelKeys).toEqual([
      "pod-template-hash",
      "absent",
    ]);
    expect(resolveSpreadLabelKeys([spread], labels)).toEqual([
      {
        maxSkew: 1,
        topologyKey: "topology.kubernetes.io/zone",
        whenUnsatisfiable: "DoNotSchedule",
        labelSelector: {
          matchLabels: { app: "web" },
          matchExpressions: [{ key: "pod-template-hash", operator: "In", values: ["5d4f8c7b9"] }],
        },
      },
    ]);
  });

  it("turn an anti-affinity term's mismatchLabelKeys into NotIn, leaving other terms and node affinity as they were", () => {
    const nodeAffinity = {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: "disk", operator: "In" as const, values: ["ssd"] }] },
        ],
      },
    };
    const resolved = resolveAffinityLabelKeys(
      {
        nodeAffinity,
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 10,
              podAffinityTerm: {
                topologyKey: "kubernetes.io/hostname",
                labelSelector: { matchLabels: { app: "web" } },
                mismatchLabelKeys: ["pod-template-hash"],
              },
            },
          ],
        },
      },
      labels,
    );
    expect(resolved.nodeAffinity).toEqual(nodeAffinity);
    expect(
      resolved.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm,
    ).toEqual({
      topologyKey: "kubernetes.io/hostname",
      labelSelector: {
        matchLabels: { app: "web" },
        matchExpressions: [{ key: "pod-template-hash", operator: "NotIn", values: ["5d4f8c7b9"] }],
      },
    });
  });
});
