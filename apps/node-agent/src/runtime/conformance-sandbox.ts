/**
 * The part of the conformance suite a pod's shared network namespace relies on (pods/sandbox.ts):
 * containers created with `sandboxId` join the sandbox's network and UTS namespaces — they reach
 * each other on localhost, have its hostname and resolver, report its address, and are reached on
 * the host ports it publishes — and that address stays when a container is replaced. Registered by
 * `runtimeConformanceSuite`.
 */
import { expect, it } from "vitest";
import { freePort, httpGet, waitFor, waitForState } from "./conformance-helpers";
import type { SuiteContext } from "./conformance-node";

const T = 60_000;
/** Sleeps until SIGTERM, as a sandbox does (the suite's image has busybox, not catatonit). */
const PAUSE = "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done";

export function sandboxTests(c: SuiteContext): void {
  it(
    "containers in a sandbox share its address, hostname, resolver, published ports and localhost; the address outlives a container",
    async () => {
      const rt = c.rt();
      const net = await rt.ensureNetwork(`berth-conf-${c.runId}-sb`, { "berth.io/test": c.runId });
      const hostPort = await freePort();
      const made: string[] = [];
      const run = async (s: Parameters<SuiteContext["run"]>[0]) => {
        const id = await c.run(s);
        made.push(id);
        return id;
      };
      try {
        const sandbox = await run(
          c.sh("sandbox", PAUSE, {
            hostname: "pod-a",
            ports: [{ containerPort: 8080, hostPort, hostIp: "127.0.0.1", protocol: "tcp" }],
            network: {
              name: net.name,
              dns: ["100.64.0.10"],
              dnsSearch: ["ns.svc.cluster.local"],
              dnsOptions: [],
            },
            readOnlyRootFilesystem: true,
            resources: { memoryBytes: 16 * 1024 * 1024 },
          }),
        );
        const box = await waitFor(async () => {
          const i = await rt.inspect(sandbox);
          return i?.ipAddress ? i : null;
        });
        expect(box.sandboxId).toBeNull();
        // The server is the image's default command: HTTP on 8080, in the sandbox's namespaces.
        const server = await run(c.spec("sb-server", { sandboxId: sandbox }));
        const served = await waitForState(rt, server, "running");
        expect(served.sandboxId).toBe(sandbox);
        expect(served.ipAddress).toBe(box.ipAddress);
        // Its page on the host port the sandbox publishes.
        expect(await httpGet(`http://127.0.0.1:${hostPort}/`)).not.toBe("");

        const client = await run(
          c.sh(
            "sb-client",
            "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://localhost:8080/ >/dev/null 2>&1 && break; sleep 0.3; done; " +
              "wget -qO- http://localhost:8080/ >/dev/null 2>&1 && echo reached; hostname; cat /etc/resolv.conf",
            { sandboxId: sandbox, hostname: "ignored" },
          ),
        );
        await waitForState(rt, client, "exited");
        const out = await rt.logs(client, { tail: 50 });
        expect(out).toContain("reached");
        expect(out).toContain("pod-a");
        expect(out).toMatch(/nameserver 100\.64\.0\.10/);

        // A server killed and replaced by a new container: the same address, the same host port.
        await rt.kill(server, "KILL");
        await waitForState(rt, server, "exited");
        await rt.remove(server);
        const again = await run(c.spec("sb-server", { sandboxId: sandbox }));
        const second = await waitForState(rt, again, "running");
        expect(second.ipAddress).toBe(box.ipAddress);
        expect((await rt.inspect(sandbox))?.ipAddress).toBe(box.ipAddress);
        expect(await httpGet(`http://127.0.0.1:${hostPort}/`)).not.toBe("");

        // A dead sandbox leaves its containers without an address.
        await rt.kill(sandbox, "KILL");
        await waitForState(rt, sandbox, "exited");
        expect((await rt.inspect(again))?.ipAddress ?? null).toBeNull();
      } finally {
        // The sandbox last: an engine keeps it while a container joined to it exists.
        for (const id of made.reverse()) await rt.remove(id);
        await rt.removeNetwork(net.name);
      }
    },
    T,
  );
}
