/**
 * The streaming half of the conformance suite: logs read as they are written (follow, since,
 * until, tail, timestamps) and processes exec'd in running containers (output, exit code, stdin,
 * a terminal and its size). Called by `runtimeConformanceSuite`; every container it makes carries
 * a per-run label and is removed after.
 */
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { expectRuntimeError, sleep, waitForState } from "./conformance-helpers";
import type { ContainerRuntime, ContainerSpec, ExecSession, OutputChunk } from "./types";

const T = 30_000;

async function collect(
  chunks: AsyncIterable<OutputChunk>,
): Promise<{ stdout: string; stderr: string; all: string }> {
  let stdout = "";
  let stderr = "";
  let all = "";
  for await (const c of chunks) {
    const text = c.data.toString("utf8");
    if (c.stream === "stdout") stdout += text;
    else stderr += text;
    all += text;
  }
  return { stdout, stderr, all };
}

/** Reads a terminal's output until `pattern` shows up in what was read since the call. */
async function readUntil(
  it: AsyncIterator<OutputChunk>,
  pattern: RegExp,
  timeoutMs = 10_000,
): Promise<string> {
  let seen = "";
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}; read: ${JSON.stringify(seen)}`)),
      timeoutMs,
    );
  });
  try {
    while (!pattern.test(seen)) {
      const next = await Promise.race([it.next(), timeout]);
      if (next.done) throw new Error(`output ended before ${pattern}; read: ${JSON.stringify(seen)}`);
      seen += next.value.data.toString("utf8");
    }
    return seen;
  } finally {
    clearTimeout(timer);
  }
}

export function runtimeStreamsConformanceSuite(
  name: string,
  makeRuntime: () => ContainerRuntime,
  opts: { image: string },
): void {
  describe(`ContainerRuntime conformance, streams: ${name}`, () => {
    const runId = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
    const runLabels = { "berth.test.conformance-run": runId };
    let rt: ContainerRuntime;
    let seq = 0;
    let created: string[] = [];
    let sessions: ExecSession[] = [];

    const spec = (what: string, extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
      name: `berth-conf-${runId}-${what}-${++seq}`,
      image: opts.image,
      env: {},
      ports: [],
      resources: {},
      ...extra,
      labels: { ...runLabels, ...extra.labels },
    });
    const run = async (s: ContainerSpec): Promise<string> => {
      const id = await rt.create(s);
      created.push(id);
      await rt.start(id);
      return id;
    };
    const sh = (what: string, script: string, extra: Partial<ContainerSpec> = {}) =>
      run(spec(what, { command: ["/bin/sh", "-c", script], ...extra }));
    const exec = async (id: string, s: Parameters<ContainerRuntime["exec"]>[1]) => {
      const session = await rt.exec(id, s);
      sessions.push(session);
      return session;
    };

    beforeAll(async () => {
      rt = makeRuntime();
      await rt.ensureImage(opts.image);
    }, T);
    afterEach(async () => {
      for (const s of sessions) s.close();
      sessions = [];
      await Promise.all(created.map((id) => rt.remove(id)));
      created = [];
    }, T);
    afterAll(async () => {
      const left = await rt.list(runLabels);
      await Promise.all(left.map((c) => rt.remove(c.id)));
    }, T);

    it(
      "streams a log demultiplexed, stdout and stderr apart and in the order written",
      async () => {
        const id = await sh("stream", "echo out1; sleep 0.2; echo err1 >&2; sleep 0.2; echo out2");
        await waitForState(rt, id, "exited");
        const chunks: OutputChunk[] = [];
        for await (const c of await rt.streamLogs(id, {})) chunks.push(c);
        expect(chunks.map((c) => `${c.stream}:${c.data.toString()}`).join("")).toBe(
          "stdout:out1\nstderr:err1\nstdout:out2\n",
        );
      },
      T,
    );

    it(
      "follows a log: each line arrives as it is written, and the stream ends when the container stops",
      async () => {
        const id = await sh("follow", "for i in 1 2 3; do echo line$i; sleep 0.7; done");
        const arrivals: { line: string; at: number }[] = [];
        for await (const c of await rt.streamLogs(id, { follow: true }))
          for (const line of c.data.toString().split("\n").filter(Boolean))
            arrivals.push({ line, at: Date.now() });
        const ended = Date.now();
        expect(arrivals.map((a) => a.line)).toEqual(["line1", "line2", "line3"]);
        // Line 3 is written about 1.4 s after line 1: it was passed on then, not at the end.
        const gap = (arrivals[2]?.at ?? 0) - (arrivals[0]?.at ?? 0);
        expect(gap).toBeGreaterThan(1_000);
        expect(ended - (arrivals[2]?.at ?? 0)).toBeLessThan(5_000);
        expect((await rt.inspect(id))?.state).toBe("exited");
      },
      T,
    );

    it(
      "close ends a following stream of a running container",
      async () => {
        const id = await sh("follow-close", "echo first; sleep 300");
        const stream = await rt.streamLogs(id, { follow: true });
        const it = stream[Symbol.asyncIterator]();
        expect((await it.next()).value?.data.toString()).toBe("first\n");
        const started = Date.now();
        setTimeout(() => stream.close(), 100);
        await collect({ [Symbol.asyncIterator]: () => it }).catch(() => null);
        expect(Date.now() - started).toBeLessThan(5_000);
      },
      T,
    );

    it(
      "reads lines since and until an instant, the last n lines, and times when asked",
      async () => {
        const id = await sh("window", "echo one; sleep 2; echo two; echo three");
        const read = async (o: Parameters<ContainerRuntime["streamLogs"]>[1]) =>
          (await collect(await rt.streamLogs(id, o))).all;
        // An instant between the lines, by this host's clock (the engine stamps lines with it too).
        const deadline = Date.now() + 10_000;
        while ((await read({})) !== "one\n" && Date.now() < deadline) await sleep(50);
        await sleep(500);
        const mid = new Date().toISOString();
        await waitForState(rt, id, "exited");
        expect(await read({ since: mid })).toBe("two\nthree\n");
        expect(await read({ until: mid })).toBe("one\n");
        expect(await read({ tail: 2 })).toBe("two\nthree\n");
        expect(await read({ tail: 0 })).toBe("");
        const stamped = (await read({ timestamps: true })).trim().split("\n");
        expect(stamped).toHaveLength(3);
        for (const [i, line] of stamped.entries())
          expect(line).toMatch(
            new RegExp(
              `^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z ${["one", "two", "three"][i]}$`,
            ),
          );
      },
      T,
    );

    it(
      "streamLogs of a missing container fails with NOT_FOUND",
      async () => {
        await expectRuntimeError(rt.streamLogs(`berth-conf-${runId}-missing`, {}), "NOT_FOUND");
      },
      T,
    );

    it(
      "execs a command with the container's environment and user, and reports its output apart and its exit code",
      async () => {
        const id = await run(
          spec("exec", { command: ["/bin/sleep", "300"], env: { GREETING: "hello there" } }),
        );
        const s = await exec(id, {
          command: ["/bin/sh", "-c", 'echo "$GREETING"; id -u; echo oops >&2; exit 3'],
          stdin: false,
          tty: false,
        });
        const out = await collect(s.output);
        expect(out.stdout).toBe("hello there\n65534\n");
        expect(out.stderr).toBe("oops\n");
        expect(await s.exitCode()).toBe(3);
      },
      T,
    );

    it(
      "passes stdin to an exec'd process, and its end as EOF",
      async () => {
        const id = await run(spec("exec-stdin", { command: ["/bin/sleep", "300"] }));
        const s = await exec(id, { command: ["/bin/sh", "-c", "cat; echo done"], stdin: true, tty: false });
        const output = collect(s.output);
        await s.write(Buffer.from("abc\n"));
        await s.write(Buffer.from("def\n"));
        s.closeStdin();
        expect((await output).stdout).toBe("abc\ndef\ndone\n");
        expect(await s.exitCode()).toBe(0);
      },
      T,
    );

    it(
      "gives an exec'd shell a terminal of the size asked, resizes it, and reports its exit code",
      async () => {
        const id = await run(spec("exec-tty", { command: ["/bin/sleep", "300"] }));
        const s = await exec(id, {
          command: ["/bin/sh"],
          stdin: true,
          tty: true,
          size: { width: 40, height: 10 },
        });
        const it = s.output[Symbol.asyncIterator]();
        await s.write(Buffer.from("stty size\n"));
        expect(await readUntil(it, /10 40\r?\n/)).toMatch(/10 40/);
        await s.resize({ width: 77, height: 20 });
        await s.write(Buffer.from("stty size\n"));
        expect(await readUntil(it, /20 77\r?\n/)).toMatch(/20 77/);
        await s.write(Buffer.from("exit 5\n"));
        await collect({ [Symbol.asyncIterator]: () => it });
        expect(await s.exitCode()).toBe(5);
      },
      T,
    );

    it(
      "exec fails with NOT_FOUND for a missing container and CONFLICT for one that is not running",
      async () => {
        const command = { command: ["/bin/true"], stdin: false, tty: false };
        await expectRuntimeError(rt.exec(`berth-conf-${runId}-missing`, command), "NOT_FOUND");
        const id = await sh("exec-exited", "exit 0");
        await waitForState(rt, id, "exited");
        await expectRuntimeError(rt.exec(id, command), "CONFLICT");
      },
      T,
    );
  });
}
