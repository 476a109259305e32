import { describe, expect, it } from "vitest";
import {
  hostProblem,
  type IngressSpec,
  ingressHosts,
  kindOf,
  parseManifest,
  renderIngressSpec,
} from "../src/index";
import { firstIssue } from "./support";

/** What `kubectl create ingress simple --rule="foo.com/bar=svc1:443,tls=my-cert" --dry-run=client -o yaml` prints. */
const kubectlCreated = {
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { creationTimestamp: null, name: "simple" },
  spec: {
    rules: [
      {
        host: "foo.com",
        http: {
          paths: [
            {
              backend: { service: { name: "svc1", port: { number: 443 } } },
              path: "/bar",
              pathType: "Exact",
            },
          ],
        },
      },
    ],
    tls: [{ hosts: ["foo.com"], secretName: "my-cert" }],
  },
  status: { loadBalancer: {} },
};

function admit(doc: Record<string, unknown>): IngressSpec {
  const kind = kindOf("networking.k8s.io/v1", "Ingress");
  if (!kind) throw new Error("no Ingress kind");
  return kind.normalise(parseManifest(kind.schema, doc), "simple") as IngressSpec;
}

const withRule = (rule: Record<string, unknown>) => ({ ...kubectlCreated, spec: { rules: [rule] } });
const path = (p: Record<string, unknown>) => ({
  host: "foo.com",
  http: {
    paths: [
      { path: "/", pathType: "Prefix", backend: { service: { name: "svc1", port: { number: 80 } } }, ...p },
    ],
  },
});

const refusal = (doc: Record<string, unknown>) => firstIssue(() => admit(doc));

describe("Ingress admission", () => {
  it("admits what kubectl create ingress prints and renders it back the same", () => {
    const spec = admit(kubectlCreated);
    expect(spec.rules[0]?.paths[0]).toEqual({
      path: "/bar",
      pathType: "Exact",
      backend: { service: { name: "svc1", port: { number: 443 } } },
    });
    expect(ingressHosts(spec)).toEqual(["foo.com"]);
    expect(admit({ ...kubectlCreated, spec: renderIngressSpec(spec) })).toEqual(spec);
  });

  it("accepts a named port and a defaultBackend alone", () => {
    expect(
      admit({
        ...kubectlCreated,
        spec: { defaultBackend: { service: { name: "web", port: { name: "http" } } } },
      }).defaultBackend,
    ).toEqual({ service: { name: "web", port: { name: "http" } } });
  });

  it("refuses IP hosts, misplaced wildcards and upper case, naming the rule's host", () => {
    for (const host of ["10.0.0.1", "foo.*.com", "*foo.com", "Foo.com", "a..b", "-a.com"])
      expect(refusal(withRule({ ...path({}), host }))).toMatchObject({ path: "spec.rules[0].host" });
    expect(hostProblem("*.shop.example.com")).toBeUndefined();
    expect(hostProblem("*")).toBeDefined();
  });

  it("refuses relative paths, a missing pathType and bad ports, naming the field", () => {
    expect(refusal(withRule(path({ path: "bar" })))).toMatchObject({
      path: "spec.rules[0].http.paths[0].path",
    });
    expect(refusal(withRule(path({ path: "/a//b" })))).toMatchObject({
      path: "spec.rules[0].http.paths[0].path",
    });
    expect(refusal(withRule(path({ pathType: undefined })))).toMatchObject({
      path: "spec.rules[0].http.paths[0].pathType",
    });
    const port = (p: Record<string, unknown>) =>
      withRule(path({ backend: { service: { name: "svc1", port: p } } }));
    expect(refusal(port({ number: 0 }))).toMatchObject({
      path: "spec.rules[0].http.paths[0].backend.service.port.number",
    });
    expect(refusal(port({ number: 65536 }))).toMatchObject({
      path: "spec.rules[0].http.paths[0].backend.service.port.number",
    });
    expect(refusal(port({ number: 80, name: "http" }))).toMatchObject({
      path: "spec.rules[0].http.paths[0].backend.service.port",
    });
    expect(refusal(port({}))).toMatchObject({ path: "spec.rules[0].http.paths[0].backend.service.port" });
    expect(refusal(port({ name: "Not_A_Name" }))).toMatchObject({
      path: "spec.rules[0].http.paths[0].backend.service.port.name",
    });
  });

  it("refuses an Ingress with neither rules nor a defaultBackend, and bad TLS hosts", () => {
    expect(refusal({ ...kubectlCreated, spec: {} })).toMatchObject({ path: "spec.rules" });
    expect(
      refusal({
        ...kubectlCreated,
        spec: { ...kubectlCreated.spec, tls: [{ hosts: ["1.2.3.4"], secretName: "c" }] },
      }),
    ).toMatchObject({ path: "spec.tls[0].hosts[0]" });
  });
});
