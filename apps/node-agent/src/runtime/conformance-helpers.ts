/** Helpers of the conformance suite: polling, HTTP probes, error assertions. */
import { createHash } from "node:crypto";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import type { ContainerInfo, ContainerRuntime, RuntimeErrorCode } from "./types";
import { RuntimeError } from "./types";

export function ids(list: ContainerInfo[]): string[] {
  return list.map((c) => c.id).sort();
}

export async function expectRuntimeError(
  promise: Promise<unknown>,
  code: RuntimeErrorCode,
): Promise<RuntimeError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof RuntimeError)) throw new Error(`expected a RuntimeError ${code}, got ${String(err)}`);
  expect(err.code).toBe(code);
  return err;
}

export async function waitForState(
  rt: ContainerRuntime,
  id: string,
  state: ContainerInfo["state"],
  timeoutMs = 15_000,
): Promise<ContainerInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Podman may fail an inspect of a container exiting at that moment ("read /proc/<pid>/cgroup:
    // no such process", HTTP 500): look again, until the deadline.
    const info = await rt.inspect(id).catch((error: unknown) => {
      if (Date.now() > deadline) throw error;
      return null;
    });
    if (info?.state === state) return info;
    if (Date.now() > deadline)
      throw new Error(`container ${id} did not reach ${state}: ${JSON.stringify(info)}`);
    await sleep(100);
  }
}

/** Polls `probe` until it gives something, or fails after the timeout. */
export async function waitFor<T>(probe: () => Promise<T | null>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(200);
  }
}

/** GETs a URL, retrying while the server is still starting. */
export async function httpGet(url: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return await res.text();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200`);
    await sleep(100);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The socket infra/services.sh starts Podman on: <repo>/.data/podman/podman.sock, or for a deep
 * checkout (a unix socket path must fit in 108 bytes) /tmp/berth-podman-<hash of the repo path>.sock.
 */
export function localPodmanSocket(): string {
  const root = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../../..");
  const inRepo = `${root}/.data/podman/podman.sock`;
  if (inRepo.length <= 100) return inRepo;
  return `/tmp/berth-podman-${createHash("sha256").update(root).digest("hex").slice(0, 12)}.sock`;
}
