import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerEngineRuntime } from "../runtime";
import { type CheckTarget, runCheck } from "./check";

/** HTTP and TCP checks against a server of the test's own (exec checks run in containers elsewhere). */
let server: Server;
let port: number;
const runtime = createDockerEngineRuntime({ url: "unix:///nonexistent.sock" });
const target = (extra: Partial<CheckTarget> = {}): CheckTarget => ({
  containerId: "c",
  address: "127.0.0.1",
  published: new Map(),
  podAddress: "10.0.0.9",
  ...extra,
});
const http = (path: string, extra: object = {}) => ({
  httpGet: { path, port, scheme: "HTTP" as const, httpHeaders: [], ...extra },
});

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/ok") res.writeHead(200).end("fine");
    else if (req.url === "/hop") res.writeHead(302, { location: "/ok" }).end();
    else if (req.url === "/away") res.writeHead(301, { location: "http://example.invalid/" }).end("moved");
    else if (req.url === "/loop") res.writeHead(302, { location: "/loop" }).end();
    else if (req.url === "/slow") setTimeout(() => res.writeHead(200).end(), 2_000);
    else if (req.url === "/agent")
      res.writeHead(200).end(`${req.headers["user-agent"]} ${req.headers["x-probe"]}`);
    else res.writeHead(503).end("down");
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe("httpGet checks, as kubelet's prober", () => {
  it("succeeds on 2xx and on redirects it follows on the same host; fails on 4xx/5xx with the status code", async () => {
    expect(await runCheck(runtime, http("/ok"), target(), 1_000)).toEqual({
      result: "success",
      output: "fine",
    });
    expect(await runCheck(runtime, http("/hop"), target(), 1_000)).toEqual({
      result: "success",
      output: "fine",
    });
    expect(await runCheck(runtime, http("/nope"), target(), 1_000)).toEqual({
      result: "failure",
      output: "HTTP probe failed with statuscode: 503",
    });
  });

  it("ends at a redirect to another host as a warning, and after 10 redirects as a failure", async () => {
    expect(await runCheck(runtime, http("/away"), target(), 1_000)).toEqual({
      result: "warning",
      output: "Probe terminated redirects, Response body: moved",
    });
    expect((await runCheck(runtime, http("/loop"), target(), 1_000)).output).toMatch(
      /stopped after 10 redirects$/,
    );
  });

  it("sends kube-probe's user agent and the probe's headers, and gives up at the timeout", async () => {
    const headers = [{ name: "X-Probe", value: "yes" }];
    expect((await runCheck(runtime, http("/agent", { httpHeaders: headers }), target(), 1_000)).output).toBe(
      "kube-probe/berth yes",
    );
    const slow = await runCheck(runtime, http("/slow"), target(), 300);
    expect(slow.result).toBe("failure");
    expect(slow.output).toContain(
      "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
    );
  });

  it("goes to the published port when the container has no address, and refuses any other host", async () => {
    const published = new Map([[8080, { host: "127.0.0.1", port }]]);
    const viaPort = { httpGet: { path: "/ok", port: 8080, scheme: "HTTP" as const, httpHeaders: [] } };
    expect((await runCheck(runtime, viaPort, target({ address: null, published }), 1_000)).result).toBe(
      "success",
    );
    expect(await runCheck(runtime, http("/ok", { host: "169.254.169.254" }), target(), 1_000)).toEqual({
      result: "failure",
      output: 'probe host "169.254.169.254" is not allowed: probes reach the pod\'s own address only',
    });
    expect((await runCheck(runtime, http("/ok", { host: "10.0.0.9" }), target(), 1_000)).result).toBe(
      "success",
    );
  });
});

describe("tcpSocket checks", () => {
  it("succeed when a connection opens, and fail as Go's dialer says", async () => {
    expect(await runCheck(runtime, { tcpSocket: { port } }, target(), 1_000)).toEqual({
      result: "success",
      output: "",
    });
    const closed = await runCheck(runtime, { tcpSocket: { port: 1 } }, target(), 1_000);
    expect(closed).toEqual({
      result: "failure",
      output: "dial tcp 127.0.0.1:1: connect: connection refused",
    });
  });
});
