import { createSocket } from "node:dgram";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engine, type Proc, start } from "../e2e/support";
import {
  type Agents,
  clusterClient,
  demoManifest,
  hostPortBlock,
  SLEEPER,
  startAgents,
} from "./agent-support";
import { type Platform, startPlatform } from "./harness";

/**
 * UDP and headless Services end to end with real containers on two node agents of one cluster
 * (one host): a UDP Service (NodePort) whose endpoints are three pods, each running a tiny DNS-speaking UDP
 * server in its network namespace that answers with its own pod address; a client pod asks the
 * Service by name with busybox's `nslookup` and gets every pod in turn; the host reaches it on its
 * UDP node port; a headless Service resolves, from the client pod, to every ready pod's address
 * and to SRV records of its named port, and gives the pods no service variables.
 */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;
const WHOAMI = fileURLToPath(new URL("./fixtures/udp-whoami.mjs", import.meta.url));

let p: Platform;
let agents: Agents;
const t = { token: "", clusterId: "" };
const servers: Proc[] = [];

const { call, podsOf, exec } = clusterClient(() => p, t);
/** The answers' addresses in busybox `nslookup` output (the server's own line carries its port). */
const answered = (out: string) =>
  [...out.matchAll(/^Address:\s+(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map((m) => m[1] as string);

const whoami = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "whoami" },
  spec: {
    type: "NodePort",
    selector: { app: "web" },
    ports: [{ name: "dns", port: 53, targetPort: 5353, protocol: "UDP" }],
  },
};
const peers = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "peers" },
  spec: {
    clusterIP: "None",
    selector: { app: "web" },
    ports: [{ name: "http", port: 80, targetPort: 8080 }],
  },
};
// A pod named as a StatefulSet's would be: `db-0.db.default.svc.cluster.local`.
const db = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "db" },
  spec: { clusterIP: "None", selector: { app: "db" }, ports: [] },
};
const dbPod = demoManifest("db", { pod: { hostname: "db-0", subdomain: "db" }, container: SLEEPER });
const web = demoManifest("web", {
  replicas: 3,
  container: {
    ports: [{ name: "http", containerPort: 8080 }],
    readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 2 },
  },
});

let webPods: J[];
let clientPod: J;

beforeAll(async () => {
  p = await startPlatform();
  agents = await startAgents(p);
  ({ token: t.token } = await p.api.tenant("udp-a"));
  t.clusterId = await p.activeCluster(t.token, "a");
  const join = await call("POST", "join-tokens", { maxUses: 2 });
  await agents.start("u1", { joinToken: join.body.token, portRange: hostPortBlock(20) });
  await agents.start("u2", { joinToken: join.body.token, portRange: hostPortBlock(20) });
  const applied = await call("POST", "apply", [
    whoami,
    peers,
    db,
    dbPod,
    web,
    demoManifest("client", { container: SLEEPER }),
  ]);
  expect(applied.status, applied.text).toBe(200);
  webPods = await p.waitFor(
    "3 ready web pods",
    async () => {
      const list = await podsOf("web");
      return list.length === 3 && list.every((x) => x.ready && x.status.podIP) && list;
    },
    120_000,
  );
  [clientPod] = await p.waitFor("the client pod", async () => {
    const list = await podsOf("client");
    return list[0]?.phase === "Running" && list[0].status.podIP ? list : undefined;
  });
  // Each web pod also serves UDP 5353: the host's node in the pod's network namespace.
  for (const pod of webPods) {
    const filters = encodeURIComponent(JSON.stringify({ label: [`berth.pod=${pod.id}`] }));
    const [c] = (await engine("GET", `/containers/json?filters=${filters}`)).body as { Id: string }[];
    const info = (await engine("GET", `/containers/${c?.Id}/json`)).body as { State: { Pid: number } };
    const server = start(
      "nsenter",
      ["-t", String(info.State.Pid), "-n", process.execPath, WHOAMI, "5353", pod.status.podIP],
      {},
    );
    servers.push(server);
    await server.waitForOutput(/listening/, 10_000);
  }
}, 240_000);
afterAll(async () => {
  for (const s of servers) s.child.kill();
  await agents?.close();
  await p?.close();
});

describe("a UDP Service", () => {
  it("shows its UDP port in its EndpointSlices and spec", async () => {
    const svc = (await call("GET", "services/default/whoami")).body;
    expect(svc.spec.ports[0]).toMatchObject({ name: "dns", port: 53, protocol: "UDP", targetPort: 5353 });
    const slices = await p.waitFor("3 UDP endpoints", async () => {
      const items = (
        await call(
          "GET",
          "endpointslices?namespace=default&labelSelector=kubernetes.io%2Fservice-name%3Dwhoami",
        )
      ).body.items as J[];
      return items.flatMap((s) => s.endpoints).length === 3 && items;
    });
    expect(slices[0].ports).toEqual([{ name: "dns", port: 5353, protocol: "UDP" }]);
  });

  it("relays each client flow to one ready pod, round robin, called by name from a pod", async () => {
    const ips = webPods.map((x) => x.status.podIP as string).sort();
    const got = await p.waitFor(
      "answers from every web pod",
      async () => {
        const out = await exec(clientPod, "for i in 1 2 3 4 5 6; do nslookup -type=a x whoami; done");
        const seen = answered(out.stdout);
        return seen.length === 6 && new Set(seen).size === 3 && seen;
      },
      30_000,
    );
    expect([...new Set(got)].sort()).toEqual(ips);
    // The variables say UDP.
    const env = await exec(clientPod, "env | grep '^WHOAMI_' | sort");
    expect(env.stdout).toContain("WHOAMI_PORT_53_UDP_PROTO=udp");
  });

  it("is served on its UDP node port at the node's address, to the host", async () => {
    const svc = (await call("GET", "services/default/whoami")).body;
    const nodePort = svc.spec.ports[0].nodePort as number;
    const socket = createSocket("udp4");
    const query = Buffer.concat([
      Buffer.from([0xbe, 0x27, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
      Buffer.from([1, 120, 0, 0, 1, 0, 1]),
    ]);
    const reply = await p.waitFor("an answer on the node port", async () => {
      const got = new Promise<Buffer | null>((ok) => {
        const timer = setTimeout(() => ok(null), 1_000);
        socket.once("message", (msg) => {
          clearTimeout(timer);
          ok(msg);
        });
      });
      socket.send(query, nodePort, "127.0.0.1");
      return await got;
    });
    socket.close();
    const address = [...reply.subarray(reply.length - 4)].join(".");
    expect(webPods.map((x) => x.status.podIP)).toContain(address);
  });
});

describe("a headless Service", () => {
  it("resolves, from a pod, to every ready pod's address, and SRV names each pod and its port", async () => {
    const svc = (await call("GET", "services/default/peers")).body;
    expect(svc.spec).toMatchObject({ clusterIP: "None", clusterIPs: ["None"] });
    const ips = webPods.map((x) => x.status.podIP as string).sort();
    const out = await exec(clientPod, "nslookup -type=a peers");
    expect(answered(out.stdout).sort()).toEqual(ips);
    const full = await exec(clientPod, "nslookup -type=a peers.default.svc.cluster.local");
    expect(answered(full.stdout).sort()).toEqual(ips);
    const srv = await exec(clientPod, "nslookup -type=srv _http._tcp.peers.default.svc.cluster.local");
    for (const ip of ips)
      expect(srv.stdout).toContain(`8080 ${ip.replaceAll(".", "-")}.peers.default.svc.cluster.local`);
    // A pod whose subdomain names the Service has its hostname's name under it, and that hostname.
    const [named] = await p.waitFor("the db pod", async () => {
      const list = await podsOf("db");
      return list[0]?.phase === "Running" && list[0].status.podIP ? list : undefined;
    });
    expect(named.spec).toMatchObject({ hostname: "db-0", subdomain: "db" });
    // Its node reports it running, then ready: the view follows. (busybox's nslookup searches only
    // for names without a dot: the full name.)
    const byName = await p.waitFor("db-0.db.default.svc resolving", async () => {
      const seen = answered(
        (await exec(clientPod, "nslookup -type=a db-0.db.default.svc.cluster.local")).stdout,
      );
      return seen.length > 0 && seen;
    });
    expect(byName).toEqual([named.status.podIP]);
    expect((await exec(named, "hostname")).stdout.trim()).toBe("db-0");
    // kubelet gives no variables for a service without a clusterIP.
    const env = await exec(clientPod, "env | grep -c '^PEERS_' || true");
    expect(env.stdout.trim()).toBe("0");
  });
});

describe("NetworkPolicy on a UDP Service", () => {
  const policy = (name: string, ingress: unknown[]) => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name },
    spec: { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Ingress"], ingress },
  });
  const ask = async () =>
    answered((await exec(clientPod, "timeout 3 nslookup -type=a x whoami 2>&1 || true")).stdout);

  it("stops the flows under a deny-all ingress on the pods, and lets them through when UDP is allowed", async () => {
    const deny = await call("POST", "apply", [policy("deny", [])]);
    expect(deny.status, deny.text).toBe(200);
    await p.waitFor("the UDP service blocked", async () => (await ask()).length === 0, 30_000);
    const allow = await call("POST", "apply", [
      policy("allow-udp", [
        {
          from: [{ podSelector: { matchLabels: { app: "client" } } }],
          ports: [{ protocol: "UDP", port: 5353 }],
        },
      ]),
    ]);
    expect(allow.status, allow.text).toBe(200);
    const back = await p.waitFor("the UDP service answering again", async () => {
      const seen = await ask();
      return seen.length > 0 && seen;
    });
    expect(webPods.map((x) => x.status.podIP)).toContain(back[0]);
  });
});
