import { describe, expect, it } from "vitest";
import { type Backend, RouteTable, requestHost, requestPath } from "../src/routes";

const backend = (service: string): Backend => ({
  tenantId: "ten_a",
  clusterId: "cl_a",
  namespace: "default",
  ingress: "web",
  ingressUid: "obj_1",
  ruleHost: "x",
  rulePath: "/",
  service,
  port: 80,
});

function table() {
  const t = new RouteTable();
  const shop = t.routesOf("shop.example.com");
  shop.add("/", "Prefix", backend("root"));
  shop.add("/foo", "Prefix", backend("foo"));
  shop.add("/foo/bar/", "Prefix", backend("foobar"));
  shop.add("/foo", "Exact", backend("foo-exact"));
  shop.add("/img", "ImplementationSpecific", backend("img"));
  const wild = t.routesOf("*.example.com");
  wild.add("/", "Prefix", backend("wild"));
  const only = t.routesOf("only.example.org");
  only.add("/api", "Exact", backend("api"));
  return t;
}
const svc = (t: RouteTable, host: string, path: string) => t.match(host, path).backend?.service;

describe("path matching (Kubernetes' rules)", () => {
  it("prefers Exact, then the longest Prefix, matching whole segments", () => {
    const t = table();
    expect(svc(t, "shop.example.com", "/foo")).toBe("foo-exact");
    expect(svc(t, "shop.example.com", "/foo/")).toBe("foo");
    expect(svc(t, "shop.example.com", "/foo/baz")).toBe("foo");
    expect(svc(t, "shop.example.com", "/foo/bar")).toBe("foobar");
    expect(svc(t, "shop.example.com", "/foo/bar/x")).toBe("foobar");
    expect(svc(t, "shop.example.com", "/foobar")).toBe("root");
    expect(svc(t, "shop.example.com", "/img/a.png")).toBe("img");
    expect(svc(t, "shop.example.com", "/")).toBe("root");
  });

  it("matches Exact paths exactly (a trailing slash is another path)", () => {
    const t = table();
    expect(svc(t, "only.example.org", "/api")).toBe("api");
    expect(svc(t, "only.example.org", "/api/")).toBeUndefined();
    expect(svc(t, "only.example.org", "/")).toBeUndefined();
  });

  it("keeps the first Ingress's path when two claim the same one", () => {
    const t = new RouteTable();
    t.routesOf("a.com").add("/x", "Prefix", backend("first"));
    t.routesOf("a.com").add("/x/", "Prefix", backend("second"));
    expect(svc(t, "a.com", "/x/y")).toBe("first");
  });
});

describe("host matching", () => {
  it("prefers the exact host, and a wildcard covers exactly one more label", () => {
    const t = table();
    expect(svc(t, "shop.example.com", "/")).toBe("root");
    expect(svc(t, "docs.example.com", "/")).toBe("wild");
    expect(svc(t, "a.b.example.com", "/")).toBeUndefined();
    expect(svc(t, "example.com", "/")).toBeUndefined();
    expect(t.lookup("unknown.test")).toBeUndefined();
  });

  it("reads the host of a Host header and the path of a target", () => {
    expect(requestHost("Shop.Example.com:8443")).toBe("shop.example.com");
    expect(requestHost("shop.example.com.")).toBe("shop.example.com");
    expect(requestHost(undefined)).toBe("");
    expect(requestPath("/a/b?x=1")).toBe("/a/b");
    expect(requestPath("*")).toBe("/");
  });
});
