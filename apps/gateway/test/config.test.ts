import { type IngressSpec, kindOf, normaliseService, parseManifest } from "@berth/kube";
import { describe, expect, it } from "vitest";
import { buildConfig } from "../src/config";
import type { Snapshot } from "../src/snapshot";

function ingress(): IngressSpec {
  const doc = {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "web" },
    spec: {
      rules: [
        {
          host: "dns.example.com",
          http: {
            paths: [
              { path: "/", pathType: "Prefix", backend: { service: { name: "dns", port: { number: 53 } } } },
            ],
          },
        },
      ],
    },
  };
  const kind = kindOf(doc.apiVersion, doc.kind);
  if (!kind) throw new Error("no Ingress kind");
  return kind.normalise(parseManifest(kind.schema, doc), "web") as IngressSpec;
}

const at = { tenantId: "ten_a", clusterId: "cl_a", namespace: "default", status: {} };

describe("the gateway's backends", () => {
  it("are TCP ports only: a Service whose port 53 is UDP alone is no backend (BackendNotFound)", () => {
    const spec = normaliseService(
      {
        spec: {
          selector: { app: "dns" },
          ports: [
            { name: "dns", port: 53, protocol: "UDP" },
            { name: "http", port: 80 },
          ],
        },
      },
      "dns",
    );
    const snapshot: Snapshot = {
      ingresses: [{ ...at, uid: "ing_1", name: "web", spec: ingress(), createdAt: new Date() }],
      services: new Map([
        ["cl_a/default/dns", { ...at, uid: "svc_1", name: "dns", spec, endpoints: new Map() }],
      ]),
      secrets: new Map(),
    };
    const conditions = buildConfig(snapshot, new Date()).conditions.get("ing_1");
    expect(conditions?.find((c) => c.type === "berth.io/BackendsReady")).toMatchObject({
      status: "False",
      reason: "BackendNotFound",
      message: "service dns has no TCP port 53",
    });
  });
});
