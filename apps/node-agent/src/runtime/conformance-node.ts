/**
 * The part of the conformance suite that health checks, lifecycle hooks, volumes and security
 * contexts rely on: signals, commands run in a container, mounts, users and groups, a read-only
 * root, capabilities, seccomp, OOM kills, images' own users, the container's own address.
 * Registered by `runtimeConformanceSuite` inside its describe block, with its helpers.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { expectRuntimeError, sleep, waitFor, waitForState } from "./conformance-helpers";
import type { ContainerRuntime, ContainerSpec } from "./types";

export interface SuiteContext {
  rt: () => ContainerRuntime;
  runId: string;
  image: string;
  /** An image like `image` whose `USER` is 1234:2345, or undefined when the engine has none. */
  userImage: string | undefined;
  spec: (what: string, extra?: Partial<ContainerSpec>) => ContainerSpec;
  create: (s: ContainerSpec) => Promise<string>;
  run: (s: ContainerSpec) => Promise<string>;
  sh: (what: string, script: string, extra?: Partial<ContainerSpec>) => ContainerSpec;
  output: (what: string, script: string, extra?: Partial<ContainerSpec>) => Promise<string>;
}

const T = 30_000;

export function nodeFacilityTests(c: SuiteContext): void {
  it(
    "kill sends the signal to the main process, and a stopped or missing container is fine",
    async () => {
      const id = await c.run(
        c.sh("kill", "trap 'echo got-term; exit 0' TERM; while true; do sleep 0.1; done"),
      );
      await sleep(300);
      await c.rt().kill(id, "TERM");
      expect(await waitForState(c.rt(), id, "exited")).toMatchObject({ exitCode: 0 });
      expect(await c.rt().logs(id, { tail: 10 })).toBe("got-term\n");
      await c.rt().kill(id, "KILL");
      await c.rt().kill(`berth-conf-${c.runId}-missing`, "KILL");
    },
    T,
  );

  it(
    "execCommand runs argv in the container as its user, with the exit code and both outputs",
    async () => {
      const id = await c.run(c.spec("exec", { command: ["/bin/sleep", "300"], user: "1234:2345" }));
      const r = await c.rt().execCommand(id, ["/bin/sh", "-c", "id -u; echo oops >&2; exit 7"], {
        timeoutMs: 10_000,
      });
      expect(r).toEqual({ exitCode: 7, output: "1234\noops\n", timedOut: false });
      const ok = await c.rt().execCommand(id, ["/bin/echo", "a b", "$HOME"], { timeoutMs: 10_000 });
      expect(ok).toEqual({ exitCode: 0, output: "a b $HOME\n", timedOut: false });
      const big = await c.rt().execCommand(id, ["/bin/head", "-c", "100000", "/dev/zero"], {
        timeoutMs: 10_000,
        maxOutputBytes: 1000,
      });
      expect(big.output.length).toBe(1000);
    },
    T,
  );

  it(
    "execCommand gives up at its deadline, says so, and the command is ended",
    async () => {
      const id = await c.run(c.spec("exec-timeout", { command: ["/bin/sleep", "300"] }));
      const started = Date.now();
      const r = await c
        .rt()
        .execCommand(id, ["/bin/sh", "-c", "sleep 2; echo late > /tmp/late"], { timeoutMs: 500 });
      expect(r).toMatchObject({ exitCode: null, timedOut: true });
      expect(Date.now() - started).toBeLessThan(5_000);
      await sleep(3_000);
      const check = await c.rt().execCommand(id, ["/bin/sh", "-c", "cat /tmp/late 2>/dev/null; true"], {
        timeoutMs: 10_000,
      });
      expect(check.output).toBe("");
    },
    T,
  );

  it(
    "execCommand in a container that is not running is CONFLICT, in a missing one NOT_FOUND",
    async () => {
      const id = await c.create(c.spec("exec-created"));
      await expectRuntimeError(c.rt().execCommand(id, ["/bin/true"], { timeoutMs: 5_000 }), "CONFLICT");
      await expectRuntimeError(
        c.rt().execCommand(`berth-conf-${c.runId}-missing`, ["/bin/true"], { timeoutMs: 5_000 }),
        "NOT_FOUND",
      );
    },
    T,
  );

  it(
    "binds host paths read-only or writable, and mounts a tmpfs of a given size",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "berth-conf-mounts-"));
      try {
        await chmod(dir, 0o777);
        await writeFile(join(dir, "greeting"), "hello\n", { mode: 0o644 });
        const script =
          "cat /ro/greeting; { echo x > /ro/new; } 2>/dev/null && echo ro-writable; echo written > /rw/out; " +
          "grep ' /scratch ' /proc/mounts | tr ' ' '\\n' | head -4 | tail -2";
        const out = await c.output("mounts", script, {
          mounts: [
            { type: "bind", source: dir, target: "/ro", readOnly: true },
            { type: "bind", source: dir, target: "/rw", readOnly: false },
            { type: "tmpfs", target: "/scratch", sizeBytes: 4 * 1024 * 1024, mode: 0o1777 },
          ],
        });
        const [greeting, fsType, options] = out.trim().split("\n");
        expect(greeting).toBe("hello");
        expect(fsType).toBe("tmpfs");
        expect(options).toMatch(/size=4096k/);
        expect(await readFile(join(dir, "out"), "utf8")).toBe("written\n");
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    T,
  );

  it(
    "adds supplementary groups, keeps a read-only root read-only, sets the working directory",
    async () => {
      const out = await c.output(
        "groups",
        "id -G; pwd; touch /made 2>/dev/null && echo root-writable; true",
        {
          user: "1234:2345",
          groups: [3456],
          readOnlyRootFilesystem: true,
          workingDir: "/www",
        },
      );
      expect(out.trim().split("\n")).toEqual(["2345 3456", "/www"]);
    },
    T,
  );

  it(
    "keeps only the capabilities asked for, under the default seccomp profile",
    async () => {
      const script = "grep -E '^(CapBnd|Seccomp):' /proc/self/status";
      expect(
        (await c.output("caps", script, { capabilities: ["NET_BIND_SERVICE"] })).trim().split("\n"),
      ).toEqual(["CapBnd:\t0000000000000400", "Seccomp:\t2"]);
    },
    T,
  );

  it(
    "reports a container the kernel killed at its memory limit as OOM-killed, and others not",
    async () => {
      const hog = await c.run(
        c.sh("oom", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo done", {
          resources: { memoryBytes: 16 * 1024 * 1024 },
        }),
      );
      const fine = await c.run(c.sh("no-oom", "exit 3", { resources: { memoryBytes: 16 * 1024 * 1024 } }));
      expect(await waitForState(c.rt(), hog, "exited")).toMatchObject({ exitCode: 137, oomKilled: true });
      expect(await waitForState(c.rt(), fine, "exited")).toMatchObject({ exitCode: 3, oomKilled: false });
    },
    T,
  );

  it(
    "says whether an image is present, what user it runs as, and pulls only what can be pulled",
    async () => {
      expect(await c.rt().hasImage(c.image)).toBe(true);
      expect(await c.rt().hasImage(`localhost/berth/absent-${c.runId}:v1`)).toBe(false);
      const config = await c.rt().imageConfig(c.image);
      expect(config?.user).toBe("");
      expect(config?.id).toMatch(/[0-9a-f]{12,}/);
      expect(await c.rt().imageConfig(`localhost/berth/absent-${c.runId}:v1`)).toBeNull();
      if (c.userImage) expect((await c.rt().imageConfig(c.userImage))?.user).toBe("1234:2345");
      await expectRuntimeError(c.rt().pullImage(`localhost:1/berth/absent-${c.runId}:v1`), "IMAGE_NOT_FOUND");
    },
    T,
  );

  it(
    "reports a running container's own address, which answers from the node, and the image it runs",
    async () => {
      const id = await c.run(c.spec("address"));
      const info = await waitFor(async () => {
        const i = await c.rt().inspect(id);
        return i?.ipAddress ? i : null;
      });
      expect(info.imageId).not.toBe("");
      const body = await waitFor(async () => {
        const res = await fetch(`http://${info.ipAddress}:8080/`).catch(() => null);
        return res?.ok ? res.text() : null;
      });
      expect(body.length).toBeGreaterThan(0);
      await c.rt().stop(id, 1);
      expect((await c.rt().inspect(id))?.ipAddress).toBeNull();
    },
    T,
  );
}
