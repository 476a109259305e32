import { mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { resolve } from "node:path";
import { Lifecycle } from "./lifecycle";
import { requestListener } from "./server";
import { InstanceStore, snapshot } from "./store";
import type { Ec2Call, Ec2Emulator, Ec2EmulatorOptions } from "./types";

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a non-negative number, got ${v}`);
  return v;
}

/**
 * Starts an EC2-compatible endpoint on 127.0.0.1 whose instances are local processes running
 * their user-data scripts. Nothing is persisted: a new emulator starts empty.
 */
export async function createEc2Emulator(options: Ec2EmulatorOptions): Promise<Ec2Emulator> {
  if (!options.workDir) throw new TypeError("workDir is required");
  const workDir = resolve(options.workDir);
  mkdirSync(workDir, { recursive: true });
  const store = new InstanceStore({
    workDir,
    ignoreClientToken: options.ignoreClientToken ?? false,
    instanceLimit: nonNegative("instanceLimit", options.instanceLimit, 100),
  });
  const lifecycle = new Lifecycle({
    runUserData: options.runUserData ?? true,
    userDataEnv: options.userDataEnv,
    pendingMs: nonNegative("pendingMs", options.pendingMs, 200),
    shuttingDownMs: nonNegative("shuttingDownMs", options.shuttingDownMs, 200),
    terminateGraceMs: nonNegative("terminateGraceMs", options.terminateGraceMs, 2000),
  });
  const calls: Ec2Call[] = [];
  const server = createServer(
    requestListener({
      context: { store, lifecycle },
      record: (c) => {
        calls.push(c);
        options.onCall?.(c);
      },
    }),
  );
  await new Promise<void>((ready, fail) => {
    server.once("error", fail);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", fail);
      ready();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the server has no TCP address");
  const { port } = address;
  let stopping: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    instances: () => store.all().map(snapshot),
    calls: () => calls.map((c) => ({ action: c.action, params: { ...c.params } })),
    async crash(instanceId) {
      const instance = store.get(instanceId);
      if (instance === undefined) throw new Error(`No instance ${instanceId}`);
      await lifecycle.crash(instance);
    },
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((done) => server.close(() => done()));
        server.closeAllConnections();
        await lifecycle.stop(store.all());
        await closed;
      })();
      return stopping;
    },
  };
}
