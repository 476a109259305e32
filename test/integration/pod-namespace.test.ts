import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agents, demoManifest, hostPortBlock, startAgents } from "./agent-support";
import { type Platform, startPlatform } from "./harness";

/**
 * One network namespace per pod, end to end with real containers: a pod of two containers (a web
 * server and a sidecar that calls it on `localhost`) run by a node agent through the API; both
 * share the pod's address (`status.podIP`) and hostname, and the address stays when the server is
 * killed and restarted.
 */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;

let p: Platform;
let agents: Agents;
const t = { token: "", clusterId: "" };

beforeAll(async () => {
  p = await startPlatform();
  agents = await startAgents(p);
  ({ token: t.token } = await p.api.tenant("podns"));
  t.clusterId = await p.activeCluster(t.token, "podns");
  const join = await p.api.call("POST", `/v1/clusters/${t.clusterId}/join-tokens`, { token: t.token });
  await agents.start("n1", { joinToken: join.body.token, portRange: hostPortBlock(10) });
}, 120_000);
afterAll(async () => {
  await agents?.close();
  await p?.close();
});

const call = (method: string, path: string, body?: unknown) =>
  p.api.call(method, `/v1/clusters/${t.clusterId}/${path}`, { token: t.token, ...(body ? { body } : {}) });
async function exec(pod: J, container: string, script: string) {
  const r = await call("POST", `pods/default/${pod.name}/exec`, { container, command: ["sh", "-c", script] });
  expect(r.status, r.text).toBe(200);
  return r.body as { stdout: string; stderr: string; exitCode: number | null };
}
const thePod = async (): Promise<J> =>
  (await call("GET", "pods?namespace=default&labelSelector=app%3Dduo")).body.items[0];

const duo = demoManifest("duo", {
  container: { name: "web", ports: [{ name: "http", containerPort: 8080 }] },
});
duo.spec.template.spec.containers.push({
  name: "sidecar",
  image: "localhost/berth/demo-web:latest",
  resources: { requests: { cpu: "10m", memory: "16Mi" } },
  // Calls the server on localhost, as a pod's containers do in Kubernetes.
  command: ["sh", "-c", "while :; do wget -qO- http://localhost:8080/ >/tmp/last 2>&1; sleep 0.5; done"],
} as never);

describe("a pod of two containers", () => {
  it("shares one address and hostname: the sidecar reaches the server on localhost; the address outlives a restart of the server", async () => {
    const r = await call("POST", "apply", [duo]);
    expect(r.status, r.text).toBe(200);
    const first = await p.waitFor(
      "the pod running with an address",
      async () => {
        const x = await thePod();
        return x?.ready && x.status.podIP ? x : undefined;
      },
      90_000,
    );
    const podIP = first.status.podIP as string;
    // The server's page, fetched by the sidecar on localhost, names the pod: one UTS namespace too.
    const page = await p.waitFor("the sidecar reached the server", async () => {
      const out = (await exec(first, "sidecar", "cat /tmp/last")).stdout;
      return out.startsWith("Hello") ? out : undefined;
    });
    expect(page.trim()).toBe(`Hello from Berth demo-web on ${first.name}`);
    for (const c of ["web", "sidecar"])
      expect((await exec(first, c, "ip -4 -o addr show eth0")).stdout).toContain(`${podIP}/`);

    // The server is killed (its shell exits on SIGTERM); the node restarts it in the same namespace.
    await exec(first, "web", "kill -TERM 1");
    const again = await p.waitFor(
      "the server restarted and ready",
      async () => {
        const x = await thePod();
        const web = (x?.status.containerStatuses as J[] | undefined)?.find((s) => s.name === "web");
        return web?.restartCount === 1 && x.ready ? x : undefined;
      },
      60_000,
    );
    expect(again.status.podIP).toBe(podIP);
    expect((await exec(again, "web", "ip -4 -o addr show eth0")).stdout).toContain(`${podIP}/`);
    expect((await exec(again, "sidecar", "wget -qO- http://localhost:8080/")).stdout.trim()).toBe(
      `Hello from Berth demo-web on ${first.name}`,
    );
    const sidecar = (again.status.containerStatuses as J[]).find((s) => s.name === "sidecar");
    expect(sidecar.restartCount).toBe(0);
  }, 180_000);
});
