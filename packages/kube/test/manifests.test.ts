import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  changedPaths,
  KINDS,
  kindOf,
  normaliseCronJob,
  normaliseDeployment,
  normaliseJobSpec,
  readDocuments,
  resolvePod,
} from "../src/index";

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, "../../../test/fixtures", name), "utf8");

function admit(text: string) {
  const [doc] = readDocuments(text, "yaml") as Record<string, unknown>[];
  const kind = kindOf(doc?.apiVersion, doc?.kind);
  if (!kind) throw new Error("unknown kind");
  const parsed = kind.schema.parse(doc);
  return kind.normalise(parsed, (doc?.metadata as { name: string } | undefined)?.name ?? "");
}

describe("manifests as kubectl writes them", () => {
  it.each([
    "kubectl-create-deployment.yaml",
    "kubectl-create-job.yaml",
    "kubectl-create-cronjob.yaml",
    "kubectl-create-configmap.yaml",
    "kubectl-create-secret.yaml",
  ])("accepts %s", (name) => {
    expect(() => admit(fixture(name))).not.toThrow();
  });

  it("defaults a deployment as Kubernetes does", () => {
    const d = admit(fixture("kubectl-create-deployment.yaml")) as ReturnType<typeof normaliseDeployment>;
    expect(d).toMatchObject({
      replicas: 2,
      strategy: { type: "RollingUpdate", maxSurge: "25%", maxUnavailable: "25%" },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      minReadySeconds: 0,
      paused: false,
    });
    const c = d.template.containers[0];
    expect(c?.imagePullPolicy).toBe("Always");
    expect(c?.securityContext).toEqual({
      runAsNonRoot: true,
      readOnlyRootFilesystem: false,
      capabilitiesAdd: [],
    });
    expect(d.template.restartPolicy).toBe("Always");
    expect(d.template.terminationGracePeriodSeconds).toBe(30);
  });
});

const deployment = (podSpec: Record<string, unknown>) =>
  KINDS.Deployment.schema.parse({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web" },
    spec: { template: { metadata: { labels: { app: "web" } }, spec: podSpec } },
  });
const container = (extra: Record<string, unknown> = {}) => ({
  name: "web",
  image: "localhost/web:1",
  ...extra,
});

describe("Pod Security restricted", () => {
  const refuses = (spec: Record<string, unknown>, pattern: RegExp) => {
    let error: unknown;
    try {
      normaliseDeployment(deployment(spec), "web");
    } catch (e) {
      error = e;
    }
    expect(String((error as Error)?.message ?? error)).toMatch(pattern);
  };
  it("refuses privileged containers, naming the field and the rule", () => {
    refuses(
      { containers: [container({ securityContext: { privileged: true } })] },
      /containers\[0\]\.securityContext\.privileged: privileged containers are not allowed \(Pod Security "restricted"\)/,
    );
  });
  it("refuses root, escalation and added capabilities other than NET_BIND_SERVICE", () => {
    refuses({ containers: [container({ securityContext: { runAsUser: 0 } })] }, /runAsUser must not be 0/);
    refuses(
      { containers: [container({ securityContext: { allowPrivilegeEscalation: true } })] },
      /allowPrivilegeEscalation must be false/,
    );
    refuses(
      { containers: [container({ securityContext: { capabilities: { add: ["SYS_ADMIN"] } } })] },
      /capabilities\.add\[0\]: only NET_BIND_SERVICE/,
    );
    const ok = normaliseDeployment(
      deployment({
        containers: [container({ securityContext: { capabilities: { add: ["NET_BIND_SERVICE"] } } })],
      }),
      "web",
    );
    expect(ok.template.containers[0]?.securityContext?.capabilitiesAdd).toEqual(["NET_BIND_SERVICE"]);
  });
  it("refuses hostPath volumes and host namespaces at the schema", () => {
    const hostPath = () =>
      deployment({ containers: [container()], volumes: [{ name: "h", hostPath: { path: "/" } }] });
    expect(hostPath).toThrow(/hostPath volumes are not allowed/);
    expect(() => deployment({ containers: [container()], hostNetwork: true })).toThrow(
      /hostNetwork is not allowed/,
    );
  });
});

describe("probes and references", () => {
  it("resolves named probe ports and applies probe defaults", () => {
    const d = normaliseDeployment(
      deployment({
        containers: [
          container({
            ports: [{ name: "http", containerPort: 8080 }],
            readinessProbe: { httpGet: { path: "/ready", port: "http" } },
          }),
        ],
      }),
      "web",
    );
    expect(d.template.containers[0]?.readinessProbe).toMatchObject({
      httpGet: { path: "/ready", port: 8080, scheme: "HTTP" },
      periodSeconds: 10,
      timeoutSeconds: 1,
      failureThreshold: 3,
      successThreshold: 1,
    });
    expect(() =>
      normaliseDeployment(
        deployment({ containers: [container({ livenessProbe: { tcpSocket: { port: "nope" } } })] }),
        "web",
      ),
    ).toThrow(/livenessProbe\.tcpSocket\.port: no port of the container is named "nope"/);
  });

  it("resolves env from ConfigMaps and Secrets, and secret files, for the pod's node", () => {
    const d = normaliseDeployment(
      deployment({
        containers: [
          container({
            env: [
              { name: "GREETING", valueFrom: { configMapKeyRef: { name: "greeting", key: "GREETING" } } },
              { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
              { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            ],
            volumeMounts: [{ name: "creds", mountPath: "/etc/creds", readOnly: true }],
          }),
        ],
        volumes: [{ name: "creds", secret: { secretName: "db", defaultMode: 0o400 } }],
      }),
      "web",
    );
    const ctx = {
      configMaps: new Map([["greeting", { data: { GREETING: "hello" }, binaryData: {} }]]),
      secrets: new Map([["db", { password: Buffer.from("s3cr3t").toString("base64") }]]),
      pod: {
        name: "web-1",
        namespace: "default",
        uid: "pod_1",
        nodeName: "n1",
        podIP: "10.0.0.2",
        hostIP: "10.0.0.1",
        serviceAccountName: "default",
        labels: {},
        annotations: {},
      },
    };
    const pod = resolvePod(d.template, ctx);
    expect(pod.containers[0]?.env).toEqual([
      { name: "GREETING", value: "hello" },
      { name: "PASSWORD", value: "s3cr3t" },
      { name: "POD", value: "web-1" },
    ]);
    expect(pod.volumes).toEqual([
      { name: "creds", type: "secret", files: [{ path: "password", data: "czNjcjN0", mode: 0o400 }] },
    ]);
    expect(() => resolvePod(d.template, { ...ctx, secrets: new Map() })).toThrow(/secret "db" not found/);
  });
});

describe("jobs and cron jobs", () => {
  it("requires restartPolicy OnFailure or Never", () => {
    expect(() =>
      normaliseJobSpec(
        KINDS.Job.schema.parse({ spec: { template: { spec: { containers: [container()] } } } }).spec,
      ),
    ).toThrow(/restartPolicy: must be "OnFailure" or "Never"/);
  });
  it("checks the schedule and the time zone", () => {
    const base = (schedule: string, timeZone?: string) =>
      KINDS.CronJob.schema.safeParse({
        spec: {
          schedule,
          ...(timeZone ? { timeZone } : {}),
          jobTemplate: {
            spec: { template: { spec: { containers: [container()], restartPolicy: "Never" } } },
          },
        },
      });
    expect(base("*/5 * * * *").success).toBe(true);
    expect(base("@hourly").success).toBe(true);
    expect(base("* * *").success).toBe(false);
    const parsed = base("0 9 * * 1-5", "Mars/Olympus");
    expect(parsed.success).toBe(true);
    if (parsed.success) expect(() => normaliseCronJob(parsed.data)).toThrow(/spec\.timeZone/);
  });
});

describe("documents and diffs", () => {
  it("reads a multi-document stream, refuses aliases, and names changed paths", () => {
    expect(readDocuments("a: 1\n---\nb: 2\n---\n", "yaml")).toEqual([{ a: 1 }, { b: 2 }]);
    expect(() => readDocuments("a: &x [1]\nb: *x\n", "yaml")).toThrow(/aliases/);
    expect(changedPaths({ spec: { replicas: 1, a: [1, 2] } }, { spec: { replicas: 2, a: [1, 3] } })).toEqual([
      "spec.a[1]",
      "spec.replicas",
    ]);
  });
});
