import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngineClient, parseEndpoint, responseError } from "./engine-http";
import { RuntimeError } from "./types";

describe("parseEndpoint", () => {
  it("accepts unix:// URLs, bare socket paths and { socketPath }", () => {
    expect(parseEndpoint({ url: "unix:///run/podman/podman.sock" })).toMatchObject({
      socketPath: "/run/podman/podman.sock",
    });
    expect(parseEndpoint({ url: "/run/docker.sock" })).toMatchObject({ socketPath: "/run/docker.sock" });
    expect(parseEndpoint({ socketPath: "/x.sock" })).toMatchObject({ socketPath: "/x.sock" });
  });

  it("accepts tcp:// and http:// with Docker's default port for tcp", () => {
    expect(parseEndpoint({ url: "tcp://10.0.0.5:2376" })).toMatchObject({ host: "10.0.0.5", port: 2376 });
    expect(parseEndpoint({ url: "tcp://engine.local" })).toMatchObject({ host: "engine.local", port: 2375 });
    expect(parseEndpoint({ url: "http://[::1]:8080" })).toMatchObject({ host: "::1", port: 8080 });
  });

  it("rejects relative unix paths, TLS and unknown schemes with a clear message", () => {
    expect(() => parseEndpoint({ url: "unix://relative.sock" })).toThrow(/must be absolute/);
    expect(() => parseEndpoint({ url: "https://engine:2376" })).toThrow(/TLS is not supported/);
    expect(() => parseEndpoint({ url: "ssh://core@host" })).toThrow(RuntimeError);
  });
});

describe("engine client transport", () => {
  let dir: string;
  let silent: Server;
  let silentPath: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-engine-http-"));
    silentPath = join(dir, "silent.sock");
    // Accepts requests and never answers: a wedged engine.
    silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(silentPath, resolve));
  });
  afterAll(async () => {
    silent.closeAllConnections();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it("reports a missing socket as UNAVAILABLE and retryable", async () => {
    const client = createEngineClient({ socketPath: join(dir, "absent.sock") });
    await expect(client.request({ method: "GET", path: "/_ping" })).rejects.toMatchObject({
      code: "UNAVAILABLE",
      retryable: true,
    });
  });

  it("reports a refused TCP connection as UNAVAILABLE and retryable", async () => {
    const client = createEngineClient({ url: "tcp://127.0.0.1:1" });
    await expect(client.request({ method: "GET", path: "/_ping" })).rejects.toMatchObject({
      code: "UNAVAILABLE",
      retryable: true,
    });
  });

  it("gives up on an engine that never answers after the request deadline", async () => {
    const client = createEngineClient({ socketPath: silentPath }, { timeoutMs: 5_000 });
    const started = Date.now();
    const err = await client
      .request({ method: "GET", path: "/_ping", timeoutMs: 200 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: "UNAVAILABLE",
      retryable: true,
      message: expect.stringMatching(/timed out after 200 ms/),
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe("responseError", () => {
  const res = (status: number, body: unknown) => ({ status, body: Buffer.from(JSON.stringify(body)) });

  it("maps 404 to NOT_FOUND, or to the code the caller names", () => {
    expect(responseError(res(404, { message: "no such container" }), "start x")).toMatchObject({
      code: "NOT_FOUND",
    });
    expect(
      responseError(res(404, { message: "image not known" }), "create", "IMAGE_NOT_FOUND"),
    ).toMatchObject({
      code: "IMAGE_NOT_FOUND",
    });
  });

  it("maps 409, and Podman's 500 for a name in use, to CONFLICT", () => {
    expect(
      responseError(res(409, { message: "Conflict. The container name is already in use" }), "c"),
    ).toMatchObject({
      code: "CONFLICT",
    });
    const podman = {
      cause: "that name is already in use",
      message: 'the container name "x" is already in use',
      response: 500,
    };
    expect(responseError(res(500, podman), "create x")).toMatchObject({ code: "CONFLICT", retryable: false });
  });

  it("maps gateway errors to retryable UNAVAILABLE and other failures to FAILED", () => {
    expect(responseError(res(503, { message: "busy" }), "c")).toMatchObject({
      code: "UNAVAILABLE",
      retryable: true,
    });
    const failed = responseError(res(500, { message: "OCI runtime error" }), "start x");
    expect(failed).toMatchObject({ code: "FAILED", retryable: false });
    expect(failed.message).toBe("start x: OCI runtime error (HTTP 500)");
  });
});
