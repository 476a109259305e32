/**
 * The behaviour every ContainerRuntime must show, against real containers. An implementation's
 * test file calls `runtimeConformanceSuite(...)` once. Every container the suite makes carries a
 * per-run label; each test removes its own, and a final sweep removes any left by a failure.
 */
import { randomBytes } from "node:crypto";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { expectRuntimeError, freePort, httpGet, sleep, waitFor, waitForState } from "./conformance-helpers";
import { lifecycleEdgeTests } from "./conformance-lifecycle";
import { networkTests } from "./conformance-network";
import { nodeFacilityTests } from "./conformance-node";
import { sandboxTests } from "./conformance-sandbox";
import { runtimeStreamsConformanceSuite } from "./conformance-streams";
import type { ContainerRuntime, ContainerSpec } from "./types";

export interface ConformanceOptions {
  /** A busybox userland in /bin whose default command serves a non-empty page over HTTP on 8080. */
  image: string;
  /** Kills the container's main process with SIGKILL behind the runtime's back, as a crash would. */
  kill: (id: string) => Promise<void>;
  /** The same image with `USER 1234:2345`, when the implementation's test can make one. */
  userImage?: string;
}

const T = 30_000;

export function runtimeConformanceSuite(
  name: string,
  makeRuntime: () => ContainerRuntime,
  opts: ConformanceOptions,
): void {
  describe(`ContainerRuntime conformance: ${name}`, () => {
    const runId = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
    const runLabels = { "berth.test.conformance-run": runId };
    let rt: ContainerRuntime;
    let seq = 0;
    let created: string[] = [];

    const spec = (what: string, extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
      name: `berth-conf-${runId}-${what}-${++seq}`,
      image: opts.image,
      env: {},
      ports: [],
      resources: {},
      ...extra,
      labels: { ...runLabels, ...extra.labels },
    });
    const create = async (s: ContainerSpec): Promise<string> => {
      const id = await rt.create(s);
      created.push(id);
      return id;
    };
    const run = async (s: ContainerSpec): Promise<string> => {
      const id = await create(s);
      await rt.start(id);
      return id;
    };
    const sh = (what: string, script: string, extra: Partial<ContainerSpec> = {}) =>
      spec(what, { command: ["/bin/sh", "-c", script], ...extra });
    /** Runs a shell script to completion and returns its output. */
    const output = async (
      what: string,
      script: string,
      extra: Partial<ContainerSpec> = {},
    ): Promise<string> => {
      const id = await run(sh(what, script, extra));
      await waitForState(rt, id, "exited");
      return rt.logs(id, { tail: 100 });
    };

    beforeAll(async () => {
      rt = makeRuntime();
      await rt.ensureImage(opts.image);
    }, T);
    afterEach(async () => {
      await Promise.all(created.map((id) => rt.remove(id)));
      created = [];
    }, T);
    afterAll(async () => {
      const left = await rt.list(runLabels);
      await Promise.all(left.map((c) => rt.remove(c.id)));
    }, T);

    const suite = {
      rt: () => rt,
      runId,
      image: opts.image,
      userImage: opts.userImage,
      spec,
      create,
      run,
      sh,
      output,
    };
    nodeFacilityTests(suite);
    networkTests(suite);
    sandboxTests(suite);

    it("answers ping", async () => {
      await rt.ping();
    });

    it("ensureImage of an image already present resolves", async () => {
      await rt.ensureImage(opts.image);
    });

    it(
      "ensureImage of an absent image with no reachable registry fails fast with IMAGE_NOT_FOUND",
      async () => {
        const started = Date.now();
        await expectRuntimeError(rt.ensureImage(`localhost:1/berth/absent-${runId}:v1`), "IMAGE_NOT_FOUND");
        expect(Date.now() - started).toBeLessThan(20_000);
      },
      T,
    );

    it(
      "a failed pull says the same whatever the registry's address answered, and keeps the detail apart",
      async () => {
        // One address refuses connections, the other answers HTTP but is no registry: a tenant
        // must not learn which (that would be a port scanner for the node's network).
        const closed = await freePort();
        const server = createHttpServer((_req, res) => res.writeHead(404).end("not a registry"));
        await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
        const open = (server.address() as AddressInfo).port;
        try {
          const messages: string[] = [];
          for (const port of [closed, open]) {
            const image = `127.0.0.1:${port}/berth/probe-${runId}:v1`;
            const err = await expectRuntimeError(rt.ensureImage(image), "IMAGE_NOT_FOUND");
            expect(err.message).toBe(
              `could not pull image ${JSON.stringify(image)}: not found or not reachable`,
            );
            expect(err.detail ?? "").not.toBe("");
            messages.push(err.message.replace(String(port), "PORT"));
          }
          expect(messages[0]).toBe(messages[1]);
        } finally {
          server.close();
        }
      },
      T,
    );

    it(
      "create returns an id that inspect reports as created, and start makes it running",
      async () => {
        const s = spec("lifecycle", { labels: { "berth.test.role": "lifecycle" } });
        const id = await create(s);
        const before = await rt.inspect(id);
        expect(before).toMatchObject({
          id,
          name: s.name,
          image: opts.image,
          state: "created",
          exitCode: null,
        });
        expect(before?.startedAt).toBeNull();
        expect(before?.labels).toMatchObject(s.labels);
        expect(await rt.inspect(s.name)).toMatchObject({ id });

        await rt.start(id);
        const after = await rt.inspect(id);
        expect(after).toMatchObject({ state: "running", exitCode: null, finishedAt: null });
        expect(after?.startedAt).toEqual(expect.any(String));
        await rt.start(id); // starting a running container is fine
        expect((await rt.inspect(id))?.state).toBe("running");
      },
      T,
    );

    it(
      "publishes a port on 127.0.0.1 that answers HTTP from the image's default command",
      async () => {
        const hostPort = await freePort();
        await run(
          spec("web", { ports: [{ containerPort: 8080, hostPort, hostIp: "127.0.0.1", protocol: "tcp" }] }),
        );
        const body = await httpGet(`http://127.0.0.1:${hostPort}/`);
        expect(body.length).toBeGreaterThan(0);
      },
      T,
    );

    it(
      "passes command, args and env to the process",
      async () => {
        const id = await run(
          spec("argv", {
            command: ["/bin/sh", "-c", 'echo "foo=$FOO args=$*"', "argv0"],
            args: ["one", "two words"],
            env: { FOO: "bar baz" },
          }),
        );
        await waitForState(rt, id, "exited");
        expect(await rt.logs(id, { tail: 10 })).toBe("foo=bar baz args=one two words\n");
      },
      T,
    );

    it(
      "command without args replaces the entrypoint and drops the image CMD",
      async () => {
        const id = await run(spec("cmd-only", { command: ["/bin/echo", "only-this"] }));
        await waitForState(rt, id, "exited");
        expect(await rt.logs(id, { tail: 10 })).toBe("only-this\n");
      },
      T,
    );

    it(
      "args without command replace the image CMD",
      async () => {
        const id = await run(spec("args-only", { args: ["/bin/echo", "from-args"] }));
        await waitForState(rt, id, "exited");
        expect(await rt.logs(id, { tail: 10 })).toBe("from-args\n");
      },
      T,
    );

    it(
      "sets the hostname",
      async () => {
        expect(await output("hostname", "hostname", { hostname: "berth-conf-host" })).toBe(
          "berth-conf-host\n",
        );
      },
      T,
    );

    it(
      "reports the exit code and finish time of the main process",
      async () => {
        const id = await run(sh("exit", "exit 3"));
        const info = await waitForState(rt, id, "exited");
        expect(info).toMatchObject({ exitCode: 3 });
        expect(info.finishedAt).toEqual(expect.any(String));
      },
      T,
    );

    it(
      "demultiplexes logs, keeping stdout and stderr in order, and tail keeps the last lines",
      async () => {
        const script = "echo out1; sleep 0.2; echo err1 >&2; sleep 0.2; echo out2; sleep 0.2; echo err2 >&2";
        const id = await run(sh("logs", script));
        await waitForState(rt, id, "exited");
        const all = await rt.logs(id, { tail: 100 });
        expect(all).toBe("out1\nerr1\nout2\nerr2\n"); // exact: no frame header bytes left
        expect(await rt.logs(id, { tail: 2 })).toBe("out2\nerr2\n");
      },
      T,
    );

    it(
      "applies the memory limit in the kernel (cgroup v1 or v2)",
      async () => {
        const memoryBytes = 64 * 1024 * 1024;
        const script =
          "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes";
        expect(await output("memory", script, { resources: { memoryBytes } })).toBe(`${memoryBytes}\n`);
      },
      T,
    );

    it(
      "applies the CPU limit as a CFS quota",
      async () => {
        const script =
          "cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)";
        const [quota, period] = (await output("cpu", script, { resources: { nanoCpus: 500_000_000 } }))
          .trim()
          .split(" ")
          .map(Number);
        expect((quota ?? 0) / (period ?? 1)).toBeCloseTo(0.5, 5);
      },
      T,
    );

    it(
      "runs unprivileged: no capabilities, no new privileges, a bounded number of processes",
      async () => {
        const script =
          "grep -E '^(CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status; cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max";
        const lines = (await output("privileges", script)).trim().split("\n");
        expect(lines.slice(0, 5)).toEqual([
          "CapPrm:\t0000000000000000",
          "CapEff:\t0000000000000000",
          "CapBnd:\t0000000000000000",
          "CapAmb:\t0000000000000000",
          "NoNewPrivs:\t1",
        ]);
        expect(lines[5]).toMatch(/^\d+$/); // a number, not "max"
      },
      T,
    );

    it(
      "never runs a container's processes as uid 0 of the host",
      async () => {
        // uid_map lines: inside-start host-start length. Without a user namespace: 0 0 4294967295.
        const out = await output("host-uid", "id -u; cat /proc/self/uid_map");
        const [uidLine = "", ...maps] = out.trim().split("\n");
        const uid = Number(uidLine.trim());
        const hostUid = maps
          .map((l) => l.trim().split(/\s+/).map(Number))
          .map(([inside = 0, host = 0, length = 0]) =>
            uid >= inside && uid < inside + length ? host + (uid - inside) : null,
          )
          .find((h) => h !== null);
        expect(hostUid).not.toBeUndefined();
        expect(hostUid).not.toBe(0);
      },
      T,
    );

    it(
      "runs as the user a spec names",
      async () => {
        expect((await output("user", "id -u; id -g", { user: "1234:2345" })).trim().split("\n")).toEqual([
          "1234",
          "2345",
        ]);
      },
      T,
    );

    it(
      "reports the size of each container's writable layer",
      async () => {
        const labels = { "berth.test.group": `disk-${seq}` };
        const writer = await run(
          sh("disk-writer", "head -c 8388608 /dev/zero > /tmp/fill; sleep 300", { labels }),
        );
        const idle = await run(spec("disk-idle", { labels }));
        const usage = await waitFor(async () => {
          const all = await rt.diskUsage({ ...runLabels, ...labels });
          const w = all.find((u) => u.id === writer);
          return w && w.writableBytes >= 8 * 1024 * 1024 ? all : null;
        });
        expect(usage.map((u) => u.id).sort()).toEqual([writer, idle].sort());
        expect(usage.find((u) => u.id === writer)?.labels).toMatchObject(labels);
        expect(usage.find((u) => u.id === idle)?.writableBytes).toBeLessThan(1024 * 1024);
      },
      T,
    );

    it(
      "inspect reports the host ports a container publishes",
      async () => {
        const hostPort = await freePort();
        const ports = [{ containerPort: 8080, hostPort, hostIp: "127.0.0.1", protocol: "tcp" as const }];
        const id = await create(spec("ports", { ports }));
        expect((await rt.inspect(id))?.ports).toEqual(ports);
        expect((await rt.inspect(await create(spec("no-ports"))))?.ports).toEqual([]);
      },
      T,
    );

    it(
      "reports a container killed behind its back as exited, and starts it again",
      async () => {
        const hostPort = await freePort();
        const id = await run(
          spec("crash", { ports: [{ containerPort: 8080, hostPort, hostIp: "127.0.0.1", protocol: "tcp" }] }),
        );
        await httpGet(`http://127.0.0.1:${hostPort}/`);
        await opts.kill(id);
        expect(await waitForState(rt, id, "exited")).toMatchObject({ exitCode: 137 });
        expect(await rt.stats(id)).toBeNull();

        await rt.start(id);
        expect((await rt.inspect(id))?.state).toBe("running");
        expect((await httpGet(`http://127.0.0.1:${hostPort}/`)).length).toBeGreaterThan(0);
      },
      T,
    );

    it(
      "does not restart an exited container by itself",
      async () => {
        const id = await run(sh("no-restart", "exit 1"));
        await waitForState(rt, id, "exited");
        await sleep(1500);
        expect(await rt.inspect(id)).toMatchObject({ state: "exited", exitCode: 1, restartCount: 0 });
      },
      T,
    );

    lifecycleEdgeTests(suite);
  });
  runtimeStreamsConformanceSuite(name, makeRuntime, { image: opts.image });
}
