/**
 * The part of the conformance suite the pod network relies on: a bridge network per cluster,
 * made once, with a subnet of its own, whose containers get an address of that subnet and the
 * resolver they were given. Isolation between networks is not asked of the engine: Podman 4.3's
 * `isolate` (netavark 1.4) let a container of a second network connect to the first here, so the
 * node agent's firewall (network/firewall.ts) does it. Registered by `runtimeConformanceSuite`.
 */
import { expect, it } from "vitest";
import { waitFor, waitForState } from "./conformance-helpers";
import type { SuiteContext } from "./conformance-node";
import type { ContainerNetwork } from "./types";

const T = 60_000;

export function networkTests(c: SuiteContext): void {
  it(
    "ensureNetwork makes a network once; its containers get its addresses and resolver; removal waits for them",
    async () => {
      const names = [`berth-conf-${c.runId}-a`, `berth-conf-${c.runId}-b`];
      const [a, b] = await Promise.all(
        names.map((n) => c.rt().ensureNetwork(n, { "berth.io/test": c.runId })),
      );
      try {
        if (!a || !b) throw new Error("no networks");
        expect(await c.rt().ensureNetwork(a.name, {})).toEqual(a);
        expect(a.subnet).not.toBe(b.subnet);
        const joined = (n: typeof a): ContainerNetwork => ({
          name: n.name,
          dns: ["100.64.0.10"],
          dnsSearch: ["default.svc.cluster.local"],
          dnsOptions: ["ndots:5"],
        });
        const server = await c.run(c.spec("net-server", { network: joined(a) }));
        const info = await waitFor(async () => {
          const i = await c.rt().inspect(server);
          return i?.ipAddress ? i : null;
        });
        expect(info.ipAddress?.split(".").slice(0, 3)).toEqual(a.subnet.split(".").slice(0, 3));
        const probe = `nc -w 2 ${info.ipAddress} 8080 </dev/null >/dev/null 2>&1 && echo open || echo closed; cat /etc/resolv.conf`;
        const runOnce = async (what: string, script: string, net: ContainerNetwork) => {
          const id = await c.run(c.sh(what, script, { network: net }));
          await waitForState(c.rt(), id, "exited");
          const out = await c.rt().logs(id, { tail: 100 });
          await c.rt().remove(id);
          return out;
        };
        const same = await runOnce("net-same", probe, joined(a));
        expect(same).toContain("open");
        expect(same).toMatch(/nameserver 100\.64\.0\.10/);
        expect(same).toMatch(/search default\.svc\.cluster\.local/);
        // A container of another network has an address of that one.
        const other = await runOnce("net-other", "ip -4 -o addr show eth0", joined(b));
        expect(other).toContain(b.subnet.split(".").slice(0, 3).join("."));
        expect(await c.rt().removeNetwork(a.name)).toBe(false);
        await c.rt().remove(server);
        expect(await c.rt().removeNetwork(a.name)).toBe(true);
      } finally {
        for (const n of names) await c.rt().removeNetwork(n);
      }
      // Gone already: as good as removed.
      expect(await c.rt().removeNetwork(names[0] ?? "")).toBe(true);
    },
    T,
  );
}
