import { execFile, execFileSync } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createLogger } from "@berth/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoggedRequest, listenForLog, parseLogLine } from "../src/access-log";
import type { GatewayConfig } from "../src/config";
import { Haproxy } from "../src/haproxy";
import { haproxyConfig, type Target } from "../src/haproxy-config";
import { type Backend, RouteTable, requestHost, requestPath } from "../src/routes";
import { freePort } from "../src/testing";

/**
 * The generated HAProxy configuration, served by a real HAProxy, routes every request where the
 * gateway's own routing table (`RouteTable.match`, Kubernetes' rules) says it should.
 */

const backend = (service: string, ruleHost: string, rulePath: string): Backend => ({
  tenantId: "ten_a",
  clusterId: "cl_a",
  namespace: "default",
  ingress: "web",
  ingressUid: "obj_1",
  ruleHost,
  rulePath,
  service,
  port: 80,
});

/** The backends' pods: HTTP servers answering with their service's name. */
const pods = new Map<string, { server: Server; target: Target }>();
async function pod(service: string): Promise<Target> {
  const server = createServer((req, res) => {
    res.setHeader("x-forwarded", `${req.headers["x-forwarded-proto"]} ${req.headers["x-forwarded-for"]}`);
    res.end(service);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const target = { ip: "127.0.0.1", port: (server.address() as { port: number }).port };
  pods.set(service, { server, target });
  return target;
}

/** curl in its own process, not blocking this one (the pods answer from this event loop). */
const curl = async (...args: string[]) => (await promisify(execFile)("curl", args)).stdout;

const EXOTIC = `/we"ird$path\\x`;

function table(): RouteTable {
  const t = new RouteTable();
  const add = (host: string, path: string, type: "Exact" | "Prefix", service: string) =>
    t.routesOf(host).add(path, type, backend(service, host, path));
  add("shop.example.com", "/", "Prefix", "root");
  add("shop.example.com", "/foo", "Prefix", "foo");
  add("shop.example.com", "/foo/bar/", "Prefix", "foobar");
  add("shop.example.com", "/foo", "Exact", "foo-exact");
  add("shop.example.com", EXOTIC, "Exact", "exotic");
  add("*.example.com", "/", "Prefix", "wild");
  add("only.example.org", "/api", "Exact", "api");
  add("empty.example.org", "/", "Prefix", "nobody");
  t.routesOf("fallback.example.org").fallback = backend("fallback", "fallback.example.org", "");
  return t;
}

/** A raw HTTP/1.1 request (the path exactly as given), answering status, a header and the body. */
function request(
  port: number,
  host: string,
  path: string,
): Promise<{ status: number; body: string; head: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () =>
      s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    );
    let data = "";
    s.on("data", (c) => {
      data += c.toString();
    });
    s.on("error", reject);
    s.on("end", () => {
      const [head = "", body = ""] = data.split("\r\n\r\n");
      resolve({ status: Number(head.split(" ")[1]), body: body.trim(), head });
    });
  });
}

/** What docs.example.com answers, asked until it is `want` or `ms` have passed (refusals retried). */
async function bodyWithin(ms: number, want: string): Promise<string> {
  const until = Date.now() + ms;
  let body = "";
  while (body !== want && Date.now() < until)
    body = await request(http, "docs.example.com", "/").then(
      (r) => r.body,
      () => new Promise<string>((r) => setTimeout(() => r(""), 50)),
    );
  return body;
}

let runDir: string;
let haproxy: Haproxy;
let config: GatewayConfig;
let http: number;
let https: number;
let logPort: number;
const logged: LoggedRequest[] = [];
let log: Awaited<ReturnType<typeof listenForLog>>;
const logger = createLogger("gateway-test", "silent");

function render(
  endpoints: (service: string) => readonly Target[],
  loadBalancers: ReadonlyMap<number, Target[]> = new Map(),
) {
  return haproxyConfig(config, (b) => endpoints(b.service), loadBalancers, {
    host: "127.0.0.1",
    httpPort: http,
    httpsPort: https,
    threads: 1,
    connectTimeoutMs: 500,
    logPort,
    runDir,
  });
}

beforeAll(async () => {
  runDir = await mkdtemp("/dev/shm/berth-gateway-unit-");
  [http, https] = [await freePort(), await freePort()];
  log = await listenForLog((r) => logged.push(r));
  logPort = log.address().port;
  for (const s of ["root", "foo", "foobar", "foo-exact", "exotic", "wild", "api", "fallback"]) await pod(s);
  const dir = await mkdtemp(join(tmpdir(), "gw-cert-"));
  execFileSync("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
    ...["-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem"), "-days", "1"],
    ...["-subj", "/CN=shop.example.com", "-addext", "subjectAltName=DNS:shop.example.com"],
  ]);
  const pem = `${await readFile(join(dir, "c.pem"), "utf8")}${await readFile(join(dir, "k.pem"), "utf8")}`;
  await writeFile(join(dir, "both.pem"), pem);
  config = { routes: table(), tls: new Map(), conditions: new Map() };
  config.tls.set("shop.example.com", { digest: "a".repeat(64), pem });
  haproxy = new Haproxy("haproxy", runDir, logger);
  expect(await haproxy.apply(render((s) => (pods.get(s) ? [pods.get(s)?.target as Target] : [])))).toBe(true);
});

afterAll(async () => {
  await haproxy?.stop();
  log?.close();
  for (const { server } of pods.values()) server.close();
});

describe("HAProxy serving the generated configuration", () => {
  it("routes each host and path as RouteTable.match does", async () => {
    const t = table();
    const cases: [string, string][] = [
      ["docs.example.com", "/"],
      ["Docs.Example.com.:8080", "/x?y=1"],
      ["a.b.example.com", "/"],
      ["example.com", "/"],
      ["only.example.org", "/api"],
      ["only.example.org", "/api/"],
      ["only.example.org", "/"],
      ["fallback.example.org", "/anything"],
      ["unknown.test", "/"],
    ];
    for (const path of ["/foo", "/foo/", "/foo/baz", "/foo/bar", "/foo//bar/x", "/foobar", "/", "/foo?q=1"])
      cases.push(["shop.example.com", path]);
    for (const [host, path] of cases) {
      const want = t.match(requestHost(host), requestPath(path)).backend?.service;
      const got = await request(http, host, path);
      // shop.example.com has a certificate: plain HTTP is redirected, so ask over TLS below.
      if (requestHost(host) === "shop.example.com") {
        expect(got.status, `${host}${path}`).toBe(308);
        expect(got.head).toContain(`location: https://shop.example.com:${https}${path}`);
        continue;
      }
      expect(got.status === 200 ? got.body : undefined, `${host}${path}`).toBe(want);
      if (!want) expect(got.status, `${host}${path}`).toBe(404);
    }
  });

  it("serves HTTPS by SNI with the host's certificate, routing the same way, and refuses unknown names", async () => {
    for (const [path, want] of [
      ["/foo", "foo-exact"],
      ["/foo/bar/x", "foobar"],
      ["/foobar", "root"],
    ]) {
      const out = await curl(
        "-sk",
        "--resolve",
        `shop.example.com:${https}:127.0.0.1`,
        `https://shop.example.com:${https}${path}`,
      );
      expect(out).toBe(want);
    }
    await expect(
      curl("-sk", "--resolve", `docs.example.com:${https}:127.0.0.1`, `https://docs.example.com:${https}/`),
    ).rejects.toThrow();
  });

  it("matches an Exact path with quotes, dollars and backslashes literally", async () => {
    const r = await request(http, "only.example.org", "/");
    expect(r.status).toBe(404);
    expect(r.body).toBe('no rule of host "only.example.org" matches /');
    const exotic = await curl(
      ...["-sk", "--path-as-is", "--resolve", `shop.example.com:${https}:127.0.0.1`],
      `https://shop.example.com:${https}${EXOTIC}`,
    );
    expect(exotic).toBe("exotic");
  });

  it("answers 503 naming the Service when a backend has no endpoint, and 404 for an unknown host", async () => {
    const r = await request(http, "empty.example.org", "/");
    expect(r.status).toBe(503);
    expect(r.body).toBe("service default/nobody has no ready endpoint for port 80");
    const u = await request(http, "nobody.test", "/");
    expect(u).toMatchObject({ status: 404, body: 'no Ingress serves host "nobody.test"' });
  });

  it("logs each request to the gateway with its route's backend, status, bytes and upstream", async () => {
    logged.length = 0;
    await request(http, "docs.example.com", "/hello");
    await new Promise((r) => setTimeout(r, 200));
    const rendered = render(() => []);
    const line = logged.find((l) => l.path === "/hello");
    expect(line).toMatchObject({ scheme: "http", status: 200, host: "docs.example.com", method: "GET" });
    expect(rendered.routes.get(line?.backend ?? "")?.service).toBe("wild");
    expect(line?.upstream).toBe(`127.0.0.1:${pods.get("wild")?.target.port}`);
    expect(line?.bytes).toBeGreaterThan(0);
  });

  it("reloads without dropping the listener, and keeps serving when a configuration cannot load", async () => {
    // Endpoints change: the wildcard now goes to api's pod.
    const swapped = render((s) => [pods.get(s === "wild" ? "api" : s)?.target as Target].filter(Boolean));
    expect(await haproxy.apply(swapped)).toBe(true);
    // The old worker may still take a connection or two while it hands its listeners over.
    expect(await bodyWithin(1_000, "api")).toBe("api");
    // A configuration HAProxy cannot load (a port another process holds) is refused; the last one serves.
    const holder = createServer();
    const held = await freePort();
    await new Promise<void>((resolve) => holder.listen(held, "127.0.0.1", resolve));
    const bad = render(() => [], new Map([[held, []]]));
    expect(await haproxy.apply(bad)).toBe(false);
    holder.close();
    // The old worker paused its listeners while the new one tried to bind; it resumes them at once.
    expect(await bodyWithin(1_000, "api")).toBe("api");
  });

  it("parses only request lines", () => {
    expect(parseLogLine("Proxy http stopped (cumulated conns: FE: 8, BE: 0).")).toBeUndefined();
    expect(parseLogLine("https be_nohost 404 120 3 10.0.0.1 GET a%20b / -:-")).toMatchObject({
      scheme: "https",
      host: "a b",
      durationMs: 3,
      upstream: undefined,
    });
  });

  it("a new gateway stops the HAProxy a gateway killed with -9 left holding the ports", async () => {
    const pid = Number((await readFile(join(runDir, "haproxy.pid"), "utf8")).trim());
    // The old Haproxy object is forgotten (as if its process died); a new one takes over the files.
    const successor = new Haproxy("haproxy", runDir, logger);
    expect(await successor.apply(render((s) => [pods.get(s)?.target as Target].filter(Boolean)))).toBe(true);
    expect(await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).toBe("");
    expect((await request(http, "docs.example.com", "/")).body).toBe("wild");
    haproxy = successor;
  });
});
