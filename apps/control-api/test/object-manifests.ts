/** The manifests objects.test.ts writes: one per kind of the registry, each with an edit. */
// biome-ignore lint/suspicious/noExplicitAny: tests read and edit JSON replies freely; the assertions check them
type J = any;

const podSpec = (extra: Record<string, unknown> = {}) => ({
  containers: [
    {
      name: "app",
      image: "localhost/app:1",
      env: [{ name: "GREETING", valueFrom: { configMapKeyRef: { name: "app-config", key: "greeting" } } }],
      resources: { requests: { cpu: "100m", memory: "64Mi" } },
    },
  ],
  ...extra,
});

/** One manifest per kind, as a user writes it, and the path it is PUT to. */
export const KINDS: Record<string, { path: string; body: Record<string, unknown>; edit: (o: J) => void }> = {
  Namespace: {
    path: "namespaces/dev",
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "dev", labels: { team: "x" } } },
    edit: (o) => {
      o.metadata.annotations = { owner: "me" };
    },
  },
  ConfigMap: {
    path: "configmaps/team/app-config",
    body: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "app-config" },
      data: { greeting: "hello" },
    },
    edit: (o) => {
      o.data.greeting = "bonjour";
    },
  },
  Secret: {
    path: "secrets/team/db",
    body: { apiVersion: "v1", kind: "Secret", metadata: { name: "db" }, stringData: { password: "s3cr3t" } },
    edit: (o) => {
      o.stringData = { user: "admin" };
    },
  },
  ResourceQuota: {
    path: "resourcequotas/team/compute",
    body: {
      apiVersion: "v1",
      kind: "ResourceQuota",
      metadata: { name: "compute" },
      spec: { hard: { pods: "20", "requests.cpu": "4", "limits.memory": "8Gi" } },
    },
    edit: (o) => {
      o.spec.hard.pods = "30";
    },
  },
  LimitRange: {
    path: "limitranges/team/defaults",
    body: {
      apiVersion: "v1",
      kind: "LimitRange",
      metadata: { name: "defaults" },
      spec: {
        limits: [
          { type: "Container", max: { cpu: "2" }, default: { cpu: "400m" }, defaultRequest: { cpu: "100m" } },
        ],
      },
    },
    edit: (o) => {
      o.spec.limits[0].max.cpu = "3";
    },
  },
  Job: {
    path: "jobs/team/migrate",
    body: {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "migrate" },
      spec: { completions: 2, template: { spec: podSpec({ restartPolicy: "Never" }) } },
    },
    edit: (o) => {
      o.spec.backoffLimit = 2;
    },
  },
  CronJob: {
    path: "cronjobs/team/tick",
    body: {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "tick" },
      spec: {
        schedule: "*/5 * * * *",
        jobTemplate: { spec: { template: { spec: podSpec({ restartPolicy: "OnFailure" }) } } },
      },
    },
    edit: (o) => {
      o.spec.schedule = "*/10 * * * *";
    },
  },
  PriorityClass: {
    path: "priorityclasses/important",
    body: {
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: { name: "important" },
      value: 1000,
      description: "for what must run",
    },
    edit: (o) => {
      o.description = "for what must run first";
    },
  },
  PodDisruptionBudget: {
    path: "poddisruptionbudgets/team/web",
    body: {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "web" },
      spec: { minAvailable: 1, selector: { matchLabels: { app: "web" } } },
    },
    edit: (o) => {
      o.spec.minAvailable = "50%";
    },
  },
  HorizontalPodAutoscaler: {
    path: "horizontalpodautoscalers/team/web",
    body: {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "web" },
      spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, maxReplicas: 6 },
    },
    edit: (o) => {
      o.spec.maxReplicas = 8;
    },
  },
  NetworkPolicy: {
    path: "networkpolicies/team/api-allow",
    body: {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "api-allow" },
      spec: {
        podSelector: { matchLabels: { app: "bookstore", role: "api" } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: "bookstore" } } }] }],
      },
    },
    edit: (o) => {
      o.spec.ingress[0].ports = [{ port: 8080 }];
    },
  },
  Ingress: {
    path: "ingresses/team/web",
    body: {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "web" },
      spec: {
        rules: [
          {
            host: "web.example.com",
            http: {
              paths: [
                {
                  path: "/",
                  pathType: "Prefix",
                  backend: { service: { name: "web", port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    },
    edit: (o) => {
      o.spec.rules[0].http.paths[0].path = "/shop";
    },
  },
  Deployment: {
    path: "deployments/team/web",
    body: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", labels: { app: "web" } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: { metadata: { labels: { app: "web" } }, spec: podSpec() },
      },
    },
    edit: (o) => {
      o.spec.replicas = 3;
    },
  },
};
