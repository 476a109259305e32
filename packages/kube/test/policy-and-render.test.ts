import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type CronJobSpec,
  type DeploymentSpec,
  type JobSpec,
  KINDS,
  normaliseDeployment,
  normaliseLimitRange,
  parseLabelSelector,
  parseManifest,
  podTotals,
  readDocuments,
  renderCronJobSpec,
  renderDeploymentSpec,
  renderJobSpec,
  resourcePolicyOf,
  selectorMatches,
} from "../src/index";

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, "../../../test/fixtures", name), "utf8");

const deployment = (container: Record<string, unknown>, spec: Record<string, unknown> = {}) =>
  KINDS.Deployment.schema.parse({
    spec: {
      ...spec,
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "web", image: "localhost/web:1", ...container }] },
      },
    },
  });

const limitRange = (limits: unknown[]) =>
  normaliseLimitRange(KINDS.LimitRange.schema.parse({ spec: { limits } }));

describe("LimitRange admission", () => {
  it("defaults as Kubernetes does: default limit from max, default request from the default limit", () => {
    const lr = limitRange([{ type: "Container", max: { cpu: "1" }, default: { memory: "256Mi" } }]);
    expect(lr.limits[0]).toMatchObject({
      default: { cpu: 1000, memory: 256 * 1024 ** 2 },
      defaultRequest: { cpu: 1000, memory: 256 * 1024 ** 2 },
    });
  });

  it("gives containers without resources the namespace's defaults instead of the platform's", () => {
    const policy = resourcePolicyOf([
      {
        name: "defaults",
        spec: limitRange([
          {
            type: "Container",
            default: { cpu: "500m", memory: "512Mi" },
            defaultRequest: { cpu: "250m", memory: "256Mi" },
          },
        ]),
      },
    ]);
    const d = normaliseDeployment(deployment({}), "web", policy);
    expect(d.template.containers[0]).toMatchObject({
      resources: { cpuMillis: 250, memoryBytes: 256 * 1024 ** 2 },
      limits: { cpuMillis: 500, memoryBytes: 512 * 1024 ** 2 },
    });
    // Without a LimitRange: the platform's 100m / 128Mi, limits = requests.
    expect(normaliseDeployment(deployment({}), "web").template.containers[0]).toMatchObject({
      resources: { cpuMillis: 100 },
      limits: { cpuMillis: 100 },
    });
  });

  it("refuses a container over the max or under the min with 403 in Kubernetes' words", () => {
    const policy = resourcePolicyOf([
      {
        name: "bounds",
        spec: limitRange([{ type: "Container", max: { cpu: "1" }, min: { memory: "64Mi" } }]),
      },
    ]);
    const refuse = (c: Record<string, unknown>) => {
      try {
        normaliseDeployment(deployment(c), "web", policy);
      } catch (e) {
        return e as { code: string; message: string };
      }
      throw new Error("admitted");
    };
    expect(
      refuse({ resources: { limits: { cpu: "2" }, requests: { cpu: "1", memory: "64Mi" } } }),
    ).toMatchObject({
      code: "FORBIDDEN",
      message:
        "spec.template.spec.containers[0].resources.limits.cpu: maximum cpu usage per Container is 1, but limit is 2",
    });
    expect(
      refuse({
        resources: { requests: { cpu: "100m", memory: "32Mi" }, limits: { cpu: "100m", memory: "32Mi" } },
      }).message,
    ).toBe(
      "spec.template.spec.containers[0].resources.requests.memory: minimum memory usage per Container is 64Mi, but request is 32Mi",
    );
  });

  it("replaces the platform's limit/request ratio of 4 when a LimitRange sets one", () => {
    const wide = { resources: { requests: { cpu: "100m" }, limits: { cpu: "800m" } } };
    expect(() => normaliseDeployment(deployment(wide), "web")).toThrow(/maxLimitRequestRatio\) for cpu is 4/);
    const policy = resourcePolicyOf([
      { name: "r", spec: limitRange([{ type: "Container", maxLimitRequestRatio: { cpu: "10" } }]) },
    ]);
    expect(
      normaliseDeployment(deployment(wide), "web", policy).template.containers[0]?.limits.cpuMillis,
    ).toBe(800);
    const tight = resourcePolicyOf([
      { name: "r", spec: limitRange([{ type: "Container", maxLimitRequestRatio: { cpu: "2" } }]) },
    ]);
    expect(() => normaliseDeployment(deployment(wide), "web", tight)).toThrow(
      /cpu max limit to request ratio per Container is 2, but provided ratio is 8\.000000/,
    );
  });

  it("checks a Pod item against the sum of the pod's containers", () => {
    const policy = resourcePolicyOf([
      { name: "p", spec: limitRange([{ type: "Pod", max: { memory: "100Mi" } }]) },
    ]);
    expect(() =>
      normaliseDeployment(deployment({ resources: { requests: { memory: "128Mi" } } }), "web", policy),
    ).toThrow(/maximum memory usage per Pod is 100Mi, but limit is 128Mi/);
  });

  it("refuses an inconsistent LimitRange, naming the field", () => {
    expect(() => limitRange([{ type: "Container", min: { cpu: "2" }, max: { cpu: "1" } }])).toThrow(
      /spec\.limits\[0\]\.min\.cpu: min must be less than or equal to max/,
    );
    expect(() => limitRange([{ type: "Pod", default: { cpu: "1" } }])).toThrow(
      /may not be specified when type is 'Pod'/,
    );
  });
});

describe("rendering stored specs back in Kubernetes' shape", () => {
  it("renders a deployment that normalises to the same stored spec (GET → PUT round-trips)", () => {
    const input = KINDS.Deployment.schema.parse(
      readDocuments(fixture("kubectl-create-deployment.yaml"), "yaml")[0],
    );
    const stored = normaliseDeployment(input, "web");
    const rendered = renderDeploymentSpec(stored);
    expect(rendered).toMatchObject({
      replicas: 2,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
      template: {
        spec: {
          containers: [
            {
              image: "localhost/berth/demo-web:latest",
              imagePullPolicy: "Always",
              resources: {
                requests: { cpu: "100m", memory: "128Mi" },
                limits: { "ephemeral-storage": "1Gi" },
              },
              securityContext: {
                runAsNonRoot: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
              },
            },
          ],
        },
      },
    });
    const again = normaliseDeployment(
      KINDS.Deployment.schema.parse({ spec: rendered }),
      "web",
    ) as DeploymentSpec;
    expect(again).toEqual(stored);
  });

  it("round-trips a deployment with probes, env references, volumes and init containers", () => {
    const input = deployment(
      {
        ports: [{ name: "http", containerPort: 8080 }],
        readinessProbe: { httpGet: { path: "/ready", port: "http" } },
        livenessProbe: { exec: { command: ["true"] }, failureThreshold: 5 },
        env: [
          { name: "GREETING", valueFrom: { configMapKeyRef: { name: "greeting", key: "GREETING" } } },
          { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
          { name: "CPU", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } },
        ],
        envFrom: [{ configMapRef: { name: "greeting" }, prefix: "G_" }],
        volumeMounts: [{ name: "creds", mountPath: "/etc/creds", readOnly: true }],
        lifecycle: { preStop: { exec: { command: ["sleep", "1"] } } },
        resources: { requests: { cpu: "250m", memory: "100000000" }, limits: { cpu: "500m" } },
      },
      { replicas: 3, strategy: { type: "Recreate" }, minReadySeconds: 5 },
    );
    input.spec.template.spec.volumes = [
      {
        name: "creds",
        secret: { secretName: "db", defaultMode: 0o400, items: [{ key: "password", path: "pw" }] },
      },
    ];
    input.spec.template.spec.initContainers = [
      { name: "init", image: "localhost/init:1", command: ["true"] },
    ];
    input.spec.template.spec.securityContext = { runAsUser: 1000, fsGroup: 2000 };
    const stored = normaliseDeployment(input, "web");
    const rendered = renderDeploymentSpec(stored);
    expect(JSON.stringify(rendered)).not.toContain("s3cr3t");
    expect(normaliseDeployment(KINDS.Deployment.schema.parse({ spec: rendered }), "web")).toEqual(stored);
  });

  it("round-trips jobs and cron jobs", () => {
    const cron = KINDS.CronJob.schema.parse(readDocuments(fixture("kubectl-create-cronjob.yaml"), "yaml")[0]);
    const stored = KINDS.CronJob.normalise(cron, "tick") as CronJobSpec;
    const rendered = renderCronJobSpec(stored);
    expect(KINDS.CronJob.normalise(KINDS.CronJob.schema.parse({ spec: rendered }), "tick")).toEqual(stored);
    const job = KINDS.Job.normalise(
      KINDS.Job.schema.parse(readDocuments(fixture("kubectl-create-job.yaml"), "yaml")[0]),
      "x",
    ) as JobSpec;
    expect(KINDS.Job.normalise(KINDS.Job.schema.parse({ spec: renderJobSpec(job) }), "x")).toEqual(job);
  });

  it("counts a pod's requests as Kubernetes does: the sum of its containers, or its largest init container", () => {
    const d = deployment({ resources: { requests: { cpu: "100m", memory: "64Mi" } } });
    d.spec.template.spec.initContainers = [
      { name: "init", image: "localhost/init:1", resources: { requests: { cpu: "2", memory: "32Mi" } } },
    ];
    const t = podTotals(normaliseDeployment(d, "web").template);
    expect(t.requests).toMatchObject({ cpu: 2000, memory: 64 * 1024 ** 2 });
  });
});

describe("label selectors and field paths", () => {
  it("parses Kubernetes' selector syntax", () => {
    const s = parseLabelSelector("app=web,tier!=db,env in (prod, staging),release,!canary");
    expect(s).toEqual({
      matchLabels: { app: "web" },
      matchExpressions: [
        { key: "env", operator: "In", values: ["prod", "staging"] },
        { key: "release", operator: "Exists" },
        { key: "canary", operator: "DoesNotExist" },
        { key: "tier", operator: "NotIn", values: ["db"] },
      ],
    });
    expect(selectorMatches(s, { app: "web", env: "prod", release: "1" })).toBe(true);
    expect(selectorMatches(s, { app: "web", env: "prod", release: "1", tier: "db" })).toBe(false);
    expect(() => parseLabelSelector("app in (a")).toThrow(/unbalanced/);
    expect(() => parseLabelSelector("a=b=c")).toThrow(/labelSelector/);
  });

  it("names unknown fields by their path", () => {
    expect(() =>
      parseManifest(KINDS.ConfigMap.schema, { metadata: { name: "x", colour: "red" } }, "documents[2]"),
    ).toThrow('documents[2].metadata.colour: unknown field "colour"');
    expect(() => parseManifest(KINDS.Deployment.schema, { spec: { replicas: 1e9, template: {} } })).toThrow(
      /^spec\.replicas: /,
    );
  });
});
