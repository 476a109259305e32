import { execFile } from "node:child_process";
import { type AddressInfo, connect, createServer, type Server } from "node:net";
import { inCidr } from "@berth/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agents, demoManifest, hostPortBlock, SLEEPER, startAgents } from "./agent-support";
import { type Platform, startPlatform } from "./harness";

/**
 * Services end to end with real containers: two node agents of one cluster (one host, each pod in
 * its own network namespace on the cluster's network), a 3-replica web Service, a client pod that
 * calls `http://web` and gets answers from every replica; the Kubernetes variables and DNS names;
 * a replica whose readiness fails leaves the rotation; a pod of another tenant's cluster on the
 * same host reaches neither the pods, nor the service, nor the DNS of the first.
 */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;
const PERIOD_S = 2;

let p: Platform;
let agents: Agents;
const a = { token: "", clusterId: "" };
const b = { token: "", clusterId: "" };

beforeAll(async () => {
  p = await startPlatform();
  agents = await startAgents(p);
  ({ token: a.token } = await p.api.tenant("net-a"));
  ({ token: b.token } = await p.api.tenant("net-b"));
  a.clusterId = await p.activeCluster(a.token, "a");
  b.clusterId = await p.activeCluster(b.token, "b");
  const ja = await p.api.call("POST", `/v1/clusters/${a.clusterId}/join-tokens`, {
    token: a.token,
    body: { maxUses: 2 },
  });
  const jb = await p.api.call("POST", `/v1/clusters/${b.clusterId}/join-tokens`, { token: b.token });
  await agents.start("a1", { joinToken: ja.body.token, portRange: hostPortBlock(20) });
  await agents.start("a2", { joinToken: ja.body.token, portRange: hostPortBlock(20) });
  await agents.start("b1", { joinToken: jb.body.token, portRange: hostPortBlock(20) });
  await apply(a, [service, web, client]);
  await apply(b, [client]);
}, 120_000);
afterAll(async () => {
  await agents?.close();
  await p?.close();
});

const call = (t: typeof a, method: string, path: string, body?: unknown) =>
  p.api.call(method, `/v1/clusters/${t.clusterId}/${path}`, { token: t.token, ...(body ? { body } : {}) });
async function apply(t: typeof a, docs: unknown[]) {
  const r = await call(t, "POST", "apply", docs);
  expect(r.status, r.text).toBe(200);
}
const podsOf = async (t: typeof a, app: string): Promise<J[]> =>
  (await call(t, "GET", `pods?namespace=default&labelSelector=app%3D${app}`)).body.items;
async function exec(t: typeof a, pod: J, script: string) {
  const r = await call(t, "POST", `pods/default/${pod.name}/exec`, { command: ["sh", "-c", script] });
  expect(r.status, r.text).toBe(200);
  return r.body as { stdout: string; stderr: string; exitCode: number | null };
}
const slices = async (t: typeof a): Promise<J[]> =>
  (await call(t, "GET", "endpointslices?namespace=default&labelSelector=kubernetes.io%2Fservice-name%3Dweb"))
    .body.items;
const endpointNames = async (t: typeof a) =>
  (await slices(t)).flatMap((s) => (s.endpoints as J[]).map((e) => e.targetRef.name as string)).sort();

const service = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web" },
  spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
};
const deployment = (name: string, replicas: number, container: Record<string, unknown>) =>
  demoManifest(name, { replicas, container });
const web = deployment("web", 3, {
  ports: [{ name: "http", containerPort: 8080 }],
  readinessProbe: {
    httpGet: { path: "/healthz", port: "http" },
    periodSeconds: PERIOD_S,
    failureThreshold: 1,
  },
});
const client = deployment("client", 1, SLEEPER);

/** `count` requests to `url` from a pod: the hostnames that answered, and how many requests failed. */
async function callMany(t: typeof a, from: J, url: string, count: number) {
  const out = await exec(
    t,
    from,
    `i=0; while [ $i -lt ${count} ]; do wget -q -O- ${url} 2>/dev/null | head -n1 || echo FAILED; i=$((i+1)); done`,
  );
  const lines = out.stdout.trim().split("\n");
  return {
    hosts: lines
      .filter((l) => l.startsWith("Hello"))
      .map((l) => l.replace(/^Hello from Berth demo-web on /, "")),
    failed: lines.filter((l) => !l.startsWith("Hello")).length,
  };
}

describe("a Service across two nodes", () => {
  let webPods: J[];
  let clientPod: J;

  it("gives each pod its own address in the cluster's network, shown in status.podIP", async () => {
    webPods = await p.waitFor(
      "3 ready web pods",
      async () => {
        const list = await podsOf(a, "web");
        return list.length === 3 && list.every((x) => x.ready && x.status.podIP) && list;
      },
      90_000,
    );
    [clientPod] = await p.waitFor("the client pod", async () => {
      const list = await podsOf(a, "client");
      return list[0]?.phase === "Running" && list[0].status.podIP ? list : undefined;
    });
    const ips = webPods.map((x) => x.status.podIP as string);
    expect(new Set(ips).size).toBe(3);
    for (const x of webPods) {
      expect(x.status.podIPs).toEqual([{ ip: x.status.podIP }]);
      expect(x.status.hostIP).toBe("127.0.0.1");
      expect(x.status.podIP).not.toBe("127.0.0.1");
      expect(x.podIP).toBe(x.status.podIP);
    }
    expect(new Set(webPods.map((x) => x.nodeName)).size).toBe(2);
    // The pod's own view of its address is the one the API shows.
    const own = await exec(a, webPods[0], "ip -4 -o addr show eth0 || ifconfig eth0");
    expect(own.stdout).toContain(webPods[0].status.podIP);
  });

  it("lists exactly the ready replicas as the Service's endpoints", async () => {
    await p.waitFor("3 endpoints", async () => (await endpointNames(a)).length === 3);
    const [slice] = await slices(a);
    expect(slice).toMatchObject({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      metadata: { labels: { "kubernetes.io/service-name": "web" } },
    });
    expect((slice.endpoints as J[]).map((e) => e.addresses[0]).sort()).toEqual(
      webPods.map((x) => x.status.podIP).sort(),
    );
    const one = await call(a, "GET", `endpointslices/default/${slice.metadata.name}`);
    expect(one.status).toBe(200);
    expect(one.body.endpoints).toHaveLength(3);
  });

  it("answers http://web from every replica, across both nodes, without errors", async () => {
    const r = await callMany(a, clientPod, "http://web/", 30);
    console.log(`30 calls to http://web: ${r.failed} failed; answers per replica`, count(r.hosts));
    expect(r.failed).toBe(0);
    expect(new Set(r.hosts)).toEqual(new Set(webPods.map((x) => x.name)));
  });

  it("adds little to a request: the service path against the pod's own address (measured)", async () => {
    const svc = (await call(a, "GET", "services/default/web")).body;
    // busybox's date has no sub-second clock: the exec's wall time over 50 sequential requests.
    const timed = async (url: string) => {
      const started = performance.now();
      const out = await exec(
        a,
        clientPod,
        `i=0; n=0; while [ $i -lt 50 ]; do wget -q -O /dev/null ${url} && n=$((n+1)); i=$((i+1)); done; echo $n`,
      );
      const ms = performance.now() - started;
      expect(out.stdout.trim()).toBe("50");
      return ms / 50;
    };
    const direct = await timed(`http://${webPods[1].status.podIP}:8080/`);
    const viaService = await timed(`http://${svc.spec.clusterIP}/`);
    console.log(
      `50 sequential requests each (wget in the client pod, mean per request incl. wget's start): direct to a pod ${direct.toFixed(2)} ms, through the clusterIP ${viaService.toFixed(2)} ms, added ${(viaService - direct).toFixed(2)} ms`,
    );
    expect(viaService).toBeGreaterThan(0);
  });

  it("resolves web.<ns> and web.<ns>.svc.cluster.local, and sets Kubernetes' variables", async () => {
    const svc = (await call(a, "GET", "services/default/web")).body;
    for (const name of ["web.default", "web.default.svc.cluster.local"]) {
      const r = await callMany(a, clientPod, `http://${name}/`, 3);
      expect(r.failed, name).toBe(0);
    }
    const env = await exec(a, clientPod, 'echo "$WEB_SERVICE_HOST $WEB_SERVICE_PORT $WEB_PORT_80_TCP"');
    expect(env.stdout.trim()).toBe(`${svc.spec.clusterIP} 80 tcp://${svc.spec.clusterIP}:80`);
    const direct = await callMany(a, clientPod, `http://${svc.spec.clusterIP}/`, 3);
    expect(direct.failed).toBe(0);
    const missing = await exec(a, clientPod, "wget -q -O- http://nothing-here/ 2>&1; echo rc=$?");
    expect(missing.stdout).toMatch(/rc=1/);
  });

  it("takes a replica whose readiness fails out of the rotation within one probe period", async () => {
    const victim = webPods[0];
    // The client calls http://web in a loop meanwhile, each answer stamped with the kernel's clock
    // (/proc/uptime, the same in every container of the host), as is the moment readiness fails.
    await exec(
      a,
      clientPod,
      `(i=0; while [ $i -lt 150 ]; do echo "$(cut -d' ' -f1 /proc/uptime) $(wget -q -O- http://web/ 2>/dev/null | head -n1)"; i=$((i+1)); done > /tmp/rotation) >/dev/null 2>&1 &`,
    );
    await new Promise((r) => setTimeout(r, 1_000));
    const started = Date.now();
    const failedAt = Number(
      (await exec(a, victim, "cut -d' ' -f1 /proc/uptime; rm /tmp/www/healthz")).stdout,
    );
    const notReady = await p.waitFor("the victim unready", async () => {
      const x = (await podsOf(a, "web")).find((y) => y.name === victim.name);
      return x && !x.ready && Date.now();
    });
    const outOfSlice = await p.waitFor(
      "the victim out of the EndpointSlice",
      async () => !(await endpointNames(a)).includes(victim.name) && Date.now(),
    );
    // Calls from now on never reach it.
    const r = await callMany(a, clientPod, "http://web/", 20);
    const answers = (await exec(a, clientPod, "sleep 1; cat /tmp/rotation")).stdout.trim().split("\n");
    const lastByVictim = Math.max(
      ...answers.filter((l) => l.endsWith(victim.name)).map((l) => Number(l.split(" ")[0])),
    );
    const rotationMs = Math.round((lastByVictim - failedAt) * 1000);
    console.log(
      `readiness (period ${PERIOD_S} s): unready in the API after ${notReady - started} ms, out of the EndpointSlice after ${outOfSlice - started} ms (${outOfSlice - notReady} ms after unready); the last call that reached it started ${rotationMs} ms after its readiness failed (${answers.length} calls; negative: none started after)`,
    );
    expect(answers.filter((l) => !l.includes("Hello"))).toEqual([]);
    expect(lastByVictim).toBeGreaterThan(0);
    expect(rotationMs).toBeLessThanOrEqual(PERIOD_S * 1000 + 1_000);
    expect(r.failed).toBe(0);
    expect(r.hosts).not.toContain(victim.name);
    expect(new Set(r.hosts).size).toBe(2);
    expect(outOfSlice - notReady).toBeLessThanOrEqual(PERIOD_S * 1000);
    // Ready again: back in the rotation.
    await exec(a, victim, "echo ok > /tmp/www/healthz");
    await p.waitFor("the victim back", async () => (await endpointNames(a)).includes(victim.name));
  });
});

describe("another tenant's pod on the same host", () => {
  it("cannot connect to the cluster's pods, service or DNS", async () => {
    const [intruder] = await p.waitFor("the other tenant's client", async () => {
      const list = await podsOf(b, "client");
      return list[0]?.phase === "Running" && list[0].status.podIP ? list : undefined;
    });
    const [target] = await podsOf(a, "web");
    const svc = (await call(a, "GET", "services/default/web")).body;
    const [clientA] = await podsOf(a, "client");
    // The same probe from a pod of the same cluster works: what fails below is the isolation.
    const probe = (ip: string, port: number) =>
      `if nc -w 2 ${ip} ${port} </dev/null >/dev/null 2>&1; then echo open; else echo closed; fi`;
    const dnsA = svc.spec.clusterIP.replace(/\.\d+$/, ".10");
    // Each refused attempt waits out its timeout: the intruder's run at once, in one exec.
    const attempts = [
      probe(target.status.podIP, 8080),
      `wget -q -O- -T 3 http://${svc.spec.clusterIP}/ 2>&1; echo rc=$?`,
      // Its own resolver does not know the other cluster's names, and the other's resolver does not answer it.
      "wget -q -O- -T 3 http://web.default/ 2>&1; echo rc=$?",
      `nslookup web.default.svc.cluster.local ${dnsA} 2>&1; echo rc=$?`,
    ];
    const jobs = attempts.map((script, i) => `(${script}) > /tmp/attempt${i} 2>&1 &`).join(" ");
    const [fromCluster, tried] = await Promise.all([
      exec(a, clientA, probe(target.status.podIP, 8080)),
      exec(b, intruder, `${jobs} wait; for i in 0 1 2 3; do cat /tmp/attempt$i; echo "--end--"; done`),
    ]);
    const [direct, viaService, byName, asked] = tried.stdout.split("--end--\n").map((stdout) => ({ stdout }));
    if (!direct || !viaService || !byName || !asked) throw new Error(`unexpected output: ${tried.stdout}`);
    expect(fromCluster.stdout.trim()).toBe("open");
    expect(direct.stdout.trim()).toBe("closed");
    expect(viaService.stdout).not.toContain("Hello");
    expect(viaService.stdout).toMatch(/rc=1/);
    expect(byName.stdout).not.toContain("Hello");
    expect(asked.stdout).not.toContain(svc.spec.clusterIP);
    expect(inCidr(`${svc.spec.clusterIP.replace(/\.\d+$/, ".0")}/24`, intruder.status.podIP)).toBe(false);
  });
});

describe("the host, from a pod", () => {
  it("serves only the cluster's services and DNS: no other port of the host, no metadata address", async () => {
    const [pod] = await podsOf(a, "client");
    // A service of the host's own on every address (as a control plane or the agent's health port
    // could be), and one on the cloud metadata address.
    await ipAddr("add", METADATA);
    const servers = await Promise.all([listen("0.0.0.0"), listen(METADATA)]);
    try {
      const [anyPort, metaPort] = servers.map((srv) => (srv.address() as AddressInfo).port);
      const gateway = pod.status.podIP.replace(/\.\d+$/, ".1");
      // The host itself reaches both: what the pod is refused below is the firewall's doing.
      expect(await hostConnects(gateway, anyPort ?? 0)).toBe(true);
      expect(await hostConnects(METADATA, metaPort ?? 0)).toBe(true);
      const probe = (ip: string, port: number) =>
        `if nc -w 2 ${ip} ${port} </dev/null >/dev/null 2>&1; then echo open; else echo closed; fi`;
      // The service address itself: only its service's port.
      const svc = (await call(a, "GET", "services/default/web")).body;
      // One exec probing all four at once (each refused one waits out its 2 s), in order.
      const targets: [string, number][] = [
        [gateway, anyPort ?? 0],
        [METADATA, metaPort ?? 0],
        [svc.spec.clusterIP, anyPort ?? 0],
        [svc.spec.clusterIP, 80],
      ];
      const script = targets.map(([ip, port], i) => `(${probe(ip, port)}) > /tmp/probe${i} &`).join(" ");
      const outcomes = (
        await exec(a, pod, `${script} wait; cat ${targets.map((_, i) => `/tmp/probe${i}`).join(" ")}`)
      ).stdout
        .trim()
        .split("\n");
      expect(outcomes).toEqual(["closed", "closed", "closed", "open"]);
    } finally {
      for (const srv of servers) srv.close();
      await ipAddr("del", METADATA);
    }
  });
});

const METADATA = "169.254.169.254";
function ipAddr(verb: "add" | "del", ip: string): Promise<void> {
  return new Promise((ok) => execFile("ip", ["-4", "addr", verb, `${ip}/32`, "dev", "lo"], () => ok()));
}
function listen(host: string): Promise<Server> {
  return new Promise((ok, fail) => {
    const srv = createServer((s) => {
      s.on("error", () => s.destroy());
      s.end("host service\n");
    });
    srv.once("error", fail);
    srv.listen(0, host, () => ok(srv));
  });
}
function hostConnects(host: string, port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = connect({ host, port });
    s.setTimeout(2000, () => {
      s.destroy();
      ok(false);
    });
    s.once("connect", () => {
      s.destroy();
      ok(true);
    });
    s.once("error", () => ok(false));
  });
}

function count(hosts: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const h of hosts) out[h] = (out[h] ?? 0) + 1;
  return out;
}
