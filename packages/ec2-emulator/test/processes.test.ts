import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { RunInstancesCommand, TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { afterEach, describe, expect, it } from "vitest";
import { alive, base64, type Harness, readWhenWritten, startEmulator, waitFor } from "./helpers";

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((harness) => harness.close()));
});
/** A fresh emulator for one test, closed after it. */
const emulator = async (options: Parameters<typeof startEmulator>[0] = {}) => {
  const harness = await startEmulator(options);
  open.push(harness);
  return harness;
};

/** A node agent stand-in: an HTTP server on a free port that answers with its instance id. */
const SERVER_SCRIPT = `#!/bin/sh
echo "booting $EC2_EMULATOR_INSTANCE_ID as node $NODE_INDEX"
echo "$NODE_INDEX" > index.tmp && mv index.tmp index
exec "$NODE" -e '
  const server = require("http").createServer((q, s) => s.end(process.env.EC2_EMULATOR_INSTANCE_ID));
  server.listen(0, "127.0.0.1", () => require("fs").writeFileSync("port", server.address().port + "\\n"));
'
`;

async function launch(harness: Harness, script: string, count = 1): Promise<string[]> {
  const out = await harness.ec2.send(
    new RunInstancesCommand({ ImageId: "ami-1", MinCount: count, MaxCount: count, UserData: base64(script) }),
  );
  return (out.Instances ?? []).map((i) => i.InstanceId ?? "");
}

const instance = (harness: Harness, id: string) => {
  const found = harness.emulator.instances().find((i) => i.instanceId === id);
  if (found === undefined) throw new Error(`no instance ${id}`);
  return found;
};

const pidOf = (harness: Harness, id: string) =>
  waitFor(`the user-data process of ${id}`, () => instance(harness, id).userDataRun?.pid);

describe("user data runs as a local process", () => {
  it("runs the script once running, with userDataEnv, and terminate kills what it started", async () => {
    const h = await emulator({
      userDataEnv: ({ index }) => ({ NODE: process.execPath, NODE_INDEX: String(index) }),
    });
    const [a, b] = await launch(h, SERVER_SCRIPT, 2);
    const dirA = join(h.workDir, a ?? "");
    const port = Number(await readWhenWritten(join(dirA, "port")));
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe(a);
    expect(await readWhenWritten(join(dirA, "index"))).toBe("0");
    expect(await readWhenWritten(join(h.workDir, b ?? "", "index"))).toBe("1");
    expect(statSync(join(dirA, "user-data")).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(dirA, "console.log"), "utf8")).toContain(`booting ${a} as node 0`);
    expect(instance(h, a ?? "").state).toBe("running");

    const pid = await pidOf(h, a ?? "");
    await h.ec2.send(new TerminateInstancesCommand({ InstanceIds: [a ?? ""] }));
    await waitFor("terminated", () => instance(h, a ?? "").state === "terminated");
    expect(alive(pid)).toBe(false);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    expect(instance(h, a ?? "").userDataRun?.signal).toBe("SIGTERM");
    expect(instance(h, b ?? "").state).toBe("running");
  });

  it("SIGKILLs a script that ignores SIGTERM after the grace time", async () => {
    const h = await emulator({ terminateGraceMs: 300 });
    const [id = ""] = await launch(
      h,
      "#!/bin/sh\ntrap '' TERM\necho ready > ready.tmp && mv ready.tmp ready\nwhile :; do sleep 0.05; done\n",
    );
    await readWhenWritten(join(h.workDir, id, "ready"));
    const pid = await pidOf(h, id);
    const started = Date.now();
    await h.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await waitFor("terminated", () => instance(h, id).state === "terminated");
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(alive(pid)).toBe(false);
    expect(instance(h, id).userDataRun?.signal).toBe("SIGKILL");
  });

  it("crash() SIGKILLs the tree at once and leaves the instance listed as stopped", async () => {
    const h = await emulator();
    const [id = ""] = await launch(
      h,
      "#!/bin/sh\nsleep 1000 &\necho $! > child.tmp && mv child.tmp child\nwait\n",
    );
    const child = Number(await readWhenWritten(join(h.workDir, id, "child")));
    const pid = await pidOf(h, id);
    await h.emulator.crash(id);
    expect(alive(pid)).toBe(false);
    expect(alive(child)).toBe(false);
    expect(instance(h, id)).toMatchObject({
      state: "stopped",
      stateReason: { code: "Server.InternalError" },
    });
    await waitFor("the exit to be recorded", () => instance(h, id).userDataRun?.signal === "SIGKILL");
  });

  it("keeps the instance running when its script exits by itself, recording the exit code", async () => {
    const h = await emulator();
    const [id = ""] = await launch(h, "#!/bin/sh\necho agent failed >&2\nexit 3\n");
    const run = await waitFor("the script to exit", () => {
      const r = instance(h, id).userDataRun;
      return r?.exitCode !== undefined && r;
    });
    expect(run.exitCode).toBe(3);
    expect(instance(h, id).state).toBe("running");
    expect(readFileSync(join(h.workDir, id, "console.log"), "utf8")).toBe("agent failed\n");
  });

  it("keeps user data that is not a script without running it", async () => {
    const h = await emulator();
    const [id = ""] = await launch(h, "#cloud-config\nruncmd:\n  - touch /tmp/never\n");
    await waitFor("running", () => instance(h, id).state === "running");
    expect(instance(h, id).userDataRun).toBeUndefined();
    expect(instance(h, id).userData).toContain("#cloud-config");
    expect(statSync(join(h.workDir, id, "user-data")).mode & 0o777).toBe(0o600);
  });

  it("runs nothing when runUserData is false", async () => {
    const h = await emulator({ runUserData: false });
    const [id = ""] = await launch(h, "#!/bin/sh\ntouch ran\n");
    await waitFor("running", () => instance(h, id).state === "running");
    expect(instance(h, id).userDataRun).toBeUndefined();
  });

  it("stop() leaves no process behind, not even a background child or one that left with setsid", async () => {
    const h = await emulator({ terminateGraceMs: 500 });
    const script = `#!/bin/sh
sleep 1000 &
echo $! > bg
setsid sleep 1001 &
echo $! > escaped
trap '' TERM
echo ready > ready.tmp && mv ready.tmp ready
while :; do sleep 0.05; done
`;
    const ids = await launch(h, script, 2);
    const pids: number[] = [];
    for (const id of ids) {
      const dir = join(h.workDir, id);
      await readWhenWritten(join(dir, "ready"));
      pids.push(
        await pidOf(h, id),
        Number(readFileSync(join(dir, "bg"), "utf8")),
        Number(readFileSync(join(dir, "escaped"), "utf8")),
      );
    }
    expect(pids.every(alive)).toBe(true);
    await h.emulator.stop();
    expect(pids.filter(alive)).toEqual([]);
    await expect(fetch(h.emulator.url)).rejects.toThrow();
  });
});
