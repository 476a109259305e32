/** Valid bodies shared by the security matrices (fuzz, isolation, mass assignment). */
const container = { name: "a", image: "localhost/berth/demo-web:latest" };
/** A plausible manifest per kind of the object model (PUT bodies, and documents of apply). */
export const kindBodies: Record<string, Record<string, unknown>> = {
  "namespaces.upsert": { metadata: { labels: { team: "a" } } },
  "configmaps.upsert": { data: { GREETING: "hello" } },
  "secrets.upsert": { type: "Opaque", stringData: { password: "pw" } },
  "resourcequotas.upsert": { spec: { hard: { pods: "10", "requests.cpu": "2" } } },
  "limitranges.upsert": { spec: { limits: [{ type: "Container", max: { cpu: "1" } }] } },
  "priorityclasses.upsert": { value: 1000, description: "important" },
  "services.upsert": {
    spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
  },
  "ingresses.upsert": {
    spec: {
      rules: [
        {
          host: "shop.example.com",
          http: {
            paths: [
              { path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
  },
  "poddisruptionbudgets.upsert": { spec: { minAvailable: 1, selector: { matchLabels: { app: "web" } } } },
  "networkpolicies.upsert": {
    spec: {
      podSelector: { matchLabels: { app: "web" } },
      ingress: [{ from: [{ podSelector: { matchLabels: { role: "client" } } }], ports: [{ port: 8080 }] }],
    },
  },
  "persistentvolumeclaims.upsert": {
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  },
  "horizontalpodautoscalers.upsert": {
    spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, maxReplicas: 3 },
  },
  "jobs.upsert": {
    spec: { completions: 1, template: { spec: { restartPolicy: "Never", containers: [container] } } },
  },
  "cronjobs.upsert": {
    spec: {
      schedule: "@hourly",
      jobTemplate: { spec: { template: { spec: { restartPolicy: "Never", containers: [container] } } } },
    },
  },
  "clusters.applyManifests": {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "cfg" },
    data: { a: "b" },
  },
};
