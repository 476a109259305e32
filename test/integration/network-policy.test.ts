import { readFile } from "node:fs/promises";
import { connect } from "node:net";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agents, demoManifest, hostPortBlock, SLEEPER, startAgents } from "./agent-support";
import { type Platform, startPlatform } from "./harness";

/**
 * NetworkPolicy and NodePort with real containers: one node agent of tenant A's cluster serving
 * on the host's own address, one of tenant B's on the same host. A client pod reaches a web pod by
 * its address and by its Service's name; policies as users write them (deny-all, allow one label,
 * allow a namespace, egress deny-all with the documented DNS allow, an ipBlock) close and reopen
 * those calls; the NodePort answers the host at the node's address, never tenant B's pod.
 */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;

let p: Platform;
let agents: Agents;
const a = { token: "", clusterId: "" };
const b = { token: "", clusterId: "" };
/** The host's own address (not loopback, not a pod network's bridge): where A's node serves its node ports. */
const nodeAddress =
  Object.entries(networkInterfaces())
    .filter(([name]) => !/^(lo|podman|berth|cni|veth|docker)/.test(name))
    .flatMap(([, list]) => list ?? [])
    .find((i) => i.family === "IPv4" && !i.internal)?.address ?? "127.0.0.1";

const call = (t: typeof a, method: string, path: string, body?: unknown) =>
  p.api.call(method, `/v1/clusters/${t.clusterId}/${path}`, { token: t.token, ...(body ? { body } : {}) });
async function apply(t: typeof a, docs: unknown[]) {
  const r = await call(t, "POST", "apply", docs);
  expect(r.status, r.text).toBe(200);
}
async function exec(t: typeof a, pod: J, script: string) {
  const r = await call(t, "POST", `pods/${pod.namespace}/${pod.name}/exec`, {
    command: ["sh", "-c", script],
  });
  expect(r.status, r.text).toBe(200);
  return r.body as { stdout: string; stderr: string; exitCode: number | null };
}
async function runningPod(t: typeof a, namespace: string, app: string): Promise<J> {
  const [pod] = await p.waitFor(
    `${namespace}/${app} running`,
    async () => {
      const list = (await call(t, "GET", `pods?namespace=${namespace}&labelSelector=app%3D${app}`)).body
        .items;
      return list[0]?.ready && list[0].status.podIP ? list : undefined;
    },
    120_000,
  );
  return pod;
}

const deployment = (
  name: string,
  labels: Record<string, string>,
  container: Record<string, unknown>,
  namespace = "default",
) => demoManifest(name, { labels, container, namespace });
const sleeper = SLEEPER;
const web = deployment(
  "web",
  {},
  {
    ports: [{ name: "http", containerPort: 8080 }],
    readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 2 },
  },
);
const service = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web" },
  spec: {
    type: "NodePort",
    selector: { app: "web" },
    ports: [{ name: "http", port: 80, targetPort: "http" }],
  },
};
const policy = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name },
  spec,
});

/** The shell test of one HTTP call: "ok" or "blocked" (refused, reset or timed out within 3 s). */
// busybox's wget crashes with -T on this image: `timeout` bounds it instead.
const callScript = (url: string) =>
  `timeout 3 wget -q -O- ${url} 2>/dev/null | head -n1 | grep -q Hello && echo ok || echo blocked`;

/** One HTTP call from a pod: "ok" or "blocked". */
async function reach(t: typeof a, from: J, url: string): Promise<"ok" | "blocked"> {
  return (await exec(t, from, callScript(url))).stdout.trim() as "ok" | "blocked";
}

/**
 * Several calls at once (each "blocked" one waits its 3 s): one exec per pod running its calls in
 * the background. Their outcomes, in the order given.
 */
async function reachAll(calls: [typeof a, J, string][]): Promise<string[]> {
  const byPod = new Map<string, { t: typeof a; from: J; at: number[] }>();
  calls.forEach(([t, from], i) => {
    const group = byPod.get(from.name) ?? { t, from, at: [] };
    group.at.push(i);
    byPod.set(from.name, group);
  });
  const outcomes: string[] = [];
  await Promise.all(
    [...byPod.values()].map(async ({ t, from, at }) => {
      const jobs = at.map((i) => `(${callScript(calls[i]?.[2] ?? "")}) > /tmp/reach${i} &`).join(" ");
      const out = await exec(t, from, `${jobs} wait; cat ${at.map((i) => `/tmp/reach${i}`).join(" ")}`);
      out.stdout
        .trim()
        .split("\n")
        .forEach((line, k) => {
          outcomes[at[k] ?? -1] = line;
        });
    }),
  );
  return outcomes;
}
function hostCall(host: string, port: number): Promise<string> {
  return new Promise((ok) => {
    const s = connect({ host, port });
    let body = "";
    s.setTimeout(3000, () => {
      s.destroy();
      ok(body);
    });
    s.on("data", (d) => {
      body += d.toString();
    });
    s.once("connect", () => s.write(`GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
    s.once("close", () => ok(body));
    s.once("error", () => ok(body));
  });
}

let webPod: J;
let client: J;
let stranger: J;
let visitor: J;

beforeAll(async () => {
  p = await startPlatform();
  agents = await startAgents(p);
  ({ token: a.token } = await p.api.tenant("np-a"));
  ({ token: b.token } = await p.api.tenant("np-b"));
  a.clusterId = await p.activeCluster(a.token, "a");
  b.clusterId = await p.activeCluster(b.token, "b");
  const ja = await p.api.call("POST", `/v1/clusters/${a.clusterId}/join-tokens`, { token: a.token });
  const jb = await p.api.call("POST", `/v1/clusters/${b.clusterId}/join-tokens`, { token: b.token });
  await agents.start("a1", { joinToken: ja.body.token, portRange: hostPortBlock(20), address: nodeAddress });
  await agents.start("b1", { joinToken: jb.body.token, portRange: hostPortBlock(20) });
  await apply(a, [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "other" } },
    service,
    web,
    deployment("client", { role: "client" }, sleeper),
    deployment("stranger", {}, sleeper),
    deployment("visitor", {}, sleeper, "other"),
  ]);
  await apply(b, [deployment("intruder", {}, sleeper)]);
  webPod = await runningPod(a, "default", "web");
  client = await runningPod(a, "default", "client");
  stranger = await runningPod(a, "default", "stranger");
  visitor = await runningPod(a, "other", "visitor");
}, 240_000);
afterAll(async () => {
  await agents?.close();
  await p?.close();
});

const byIP = () => `http://${webPod.status.podIP}:8080/`;

describe("NetworkPolicy on a node", () => {
  it("allows everything while no policy selects a pod", async () => {
    expect(
      await reachAll([
        [a, client, byIP()],
        [a, client, "http://web/"],
        [a, stranger, byIP()],
        [a, stranger, "http://web/"],
        [a, visitor, "http://web.default/"],
      ]),
    ).toEqual(["ok", "ok", "ok", "ok", "ok"]);
  });

  it("a deny-all ingress on the web pods blocks calls by pod address and by service name (time to effect measured)", async () => {
    // The client calls in a loop, stamping each call with the kernel's uptime (10 ms steps, the
    // same clock as the host's: busybox's date has no sub-second clock) and stops at the first
    // blocked one; the host stamps the apply with the same clock.
    const loop = exec(
      a,
      client,
      `end=$(($(cut -d. -f1 /proc/uptime) + 20)); ok=0; while [ $(cut -d. -f1 /proc/uptime) -lt $end ]; do t=$(cut -d" " -f1 /proc/uptime); if timeout 2 wget -q -O /dev/null ${byIP()} 2>/dev/null; then ok=$((ok+1)); touch /tmp/calling; else echo "$ok $t"; break; fi; done`,
    );
    await p.waitFor("the client calling", async () =>
      (await exec(a, client, "test -f /tmp/calling && echo yes")).stdout.includes("yes"),
    );
    const appliedAt = Number((await readFile("/proc/uptime", "utf8")).split(" ")[0]);
    await apply(a, [policy("web-deny-all", { podSelector: { matchLabels: { app: "web" } }, ingress: [] })]);
    const [okBefore, blockedAt] = (await loop).stdout.trim().split(" ").map(Number);
    console.log(
      `deny-all ingress: the first blocked call was sent ${Math.round(((blockedAt ?? 0) - appliedAt) * 1000)} ms after the apply was (${okBefore} calls went through before; negative: it was in flight when the policy landed)`,
    );
    expect(okBefore).toBeGreaterThan(0);
    // Blocked by the policy: the call was sent after the apply, or was in flight then (a call waits 2 s at most).
    expect(blockedAt).toBeGreaterThan(appliedAt - 2.5);
    expect(blockedAt).toBeLessThan(appliedAt + 5);
    expect(
      await reachAll([
        [a, client, "http://web/"],
        [a, stranger, byIP()],
        [a, visitor, "http://web.default/"],
      ]),
    ).toEqual(["blocked", "blocked", "blocked"]);
    // Replies and the node's own traffic still pass: the web pod stays ready (its probes come from the node).
    const pod = (await call(a, "GET", `pods/default/${webPod.name}`)).body;
    expect(pod.ready).toBe(true);
  });

  it("allowing role=client reopens it for the labelled client only; a namespaceSelector lets another namespace in", async () => {
    await apply(a, [
      policy("web-allow-client", {
        podSelector: { matchLabels: { app: "web" } },
        ingress: [
          { from: [{ podSelector: { matchLabels: { role: "client" } } }], ports: [{ port: "http" }] },
        ],
      }),
    ]);
    await p.waitFor("the client let in", async () => (await reach(a, client, byIP())) === "ok", 20_000);
    expect(
      await reachAll([
        [a, client, "http://web/"],
        [a, stranger, byIP()],
        [a, stranger, "http://web/"],
        [a, visitor, "http://web.default/"],
      ]),
    ).toEqual(["ok", "blocked", "blocked", "blocked"]);
    await apply(a, [
      policy("web-allow-other", {
        podSelector: { matchLabels: { app: "web" } },
        ingress: [
          { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "other" } } }] },
        ],
      }),
    ]);
    await p.waitFor(
      "the other namespace let in",
      async () => (await reach(a, visitor, byIP())) === "ok",
      20_000,
    );
    expect(
      await reachAll([
        [a, visitor, "http://web.default/"],
        [a, stranger, byIP()],
      ]),
    ).toEqual(["ok", "blocked"]);
  });

  it("an egress deny-all on the client blocks its calls and its DNS; the documented DNS allow and an ipBlock reopen them", async () => {
    await apply(a, [
      policy("client-deny-egress", {
        podSelector: { matchLabels: { role: "client" } },
        policyTypes: ["Egress"],
      }),
    ]);
    await p.waitFor(
      "the client's calls blocked",
      async () => (await reach(a, client, byIP())) === "blocked",
      20_000,
    );
    const lookup = "nslookup web.default.svc.cluster.local >/dev/null 2>&1 && echo resolved || echo failed";
    const clusterIP = (await call(a, "GET", "services/default/web")).body.spec.clusterIP;
    const [byClusterIP, resolved] = await Promise.all([
      reach(a, client, `http://${clusterIP}/`),
      exec(a, client, lookup),
    ]);
    expect(byClusterIP).toBe("blocked");
    expect(resolved.stdout.trim()).toBe("failed");
    // Kubernetes' documented way to let DNS through, and the web pods' subnet as an ipBlock.
    const subnet = `${webPod.status.podIP.replace(/\.\d+$/, ".0")}/24`;
    await apply(a, [
      policy("allow-dns", {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
                podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
              },
            ],
            ports: [
              { protocol: "UDP", port: 53 },
              { protocol: "TCP", port: 53 },
            ],
          },
        ],
      }),
      policy("client-to-pods", {
        podSelector: { matchLabels: { role: "client" } },
        egress: [{ to: [{ ipBlock: { cidr: subnet } }], ports: [{ protocol: "TCP", port: 8080 }] }],
      }),
    ]);
    await p.waitFor(
      "the client's DNS back",
      async () => (await exec(a, client, lookup)).stdout.trim() === "resolved",
      20_000,
    );
    await p.waitFor(
      "the client's calls back",
      async () => (await reach(a, client, "http://web/")) === "ok",
      20_000,
    );
    expect(await reach(a, client, byIP())).toBe("ok");
    // The ipBlock opens port 8080 only.
    const other = await exec(
      a,
      client,
      `nc -w 2 ${webPod.status.podIP} 8081 </dev/null >/dev/null 2>&1; echo rc=$?`,
    );
    expect(other.stdout.trim()).not.toBe("rc=0");
  });

  it("removing the policies restores default allow", async () => {
    for (const name of [
      "web-deny-all",
      "web-allow-client",
      "web-allow-other",
      "client-deny-egress",
      "allow-dns",
      "client-to-pods",
    ]) {
      const r = await call(a, "DELETE", `networkpolicies/default/${name}`);
      expect(r.status, r.text).toBe(200);
    }
    await p.waitFor(
      "the stranger let in again",
      async () => (await reach(a, stranger, byIP())) === "ok",
      20_000,
    );
  });

  it("refuses invalid policies with a 400 naming the field", async () => {
    const bad = await call(a, "PUT", "networkpolicies/default/bad", {
      spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8" }, podSelector: {} }] }] },
    });
    expect(bad.status, bad.text).toBe(400);
    expect(bad.text).toContain("spec.ingress[0].from[0]");
    const sctp = await call(a, "PUT", "networkpolicies/default/bad", {
      spec: { podSelector: {}, ingress: [{ ports: [{ protocol: "SCTP", port: 9 }] }] },
    });
    expect(sctp.status).toBe(400);
    expect(sctp.text).toContain("spec.ingress[0].ports[0].protocol");
    const range = await call(a, "PUT", "networkpolicies/default/bad", {
      spec: { podSelector: {}, egress: [{ ports: [{ port: 9000, endPort: 80 }] }] },
    });
    expect(range.status).toBe(400);
    expect(range.text).toContain("spec.egress[0].ports[0].endPort");
  });
});

describe("a NodePort Service", () => {
  it("gets a node port, kept across re-applies, and says where it is served", async () => {
    const svc = (await call(a, "GET", "services/default/web")).body;
    const nodePort = svc.spec.ports[0].nodePort as number;
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    expect(nodePort).toBeLessThanOrEqual(32767);
    expect(svc.status.conditions).toEqual([
      expect.objectContaining({
        type: "berth.io/ExternallyReachable",
        status: "True",
        reason: "NodePortServed",
      }),
    ]);
    expect(svc.status.conditions[0].message).toContain(`${nodeAddress}:${nodePort}`);
    await apply(a, [service]);
    expect((await call(a, "GET", "services/default/web")).body.spec.ports[0].nodePort).toBe(nodePort);
  });

  it("answers the host at the node's address, and never another tenant's pod on the same host", async () => {
    const nodePort = (await call(a, "GET", "services/default/web")).body.spec.ports[0].nodePort as number;
    const answer = await p.waitFor("the node port served", async () => {
      const body = await hostCall(nodeAddress, nodePort);
      return body.includes("Hello") && body;
    });
    expect(answer).toContain(webPod.name);
    const intruder = await runningPod(b, "default", "intruder");
    const probe = `if nc -w 2 ${nodeAddress} ${nodePort} </dev/null >/dev/null 2>&1; then echo open; else echo closed; fi`;
    const gateway = intruder.status.podIP.replace(/\.\d+$/, ".1");
    const viaGateway = `if nc -w 2 ${gateway} ${nodePort} </dev/null >/dev/null 2>&1; then echo open; else echo closed; fi`;
    const [tried, fromCluster] = await Promise.all([
      exec(
        b,
        intruder,
        `(${probe}) > /tmp/direct & (${viaGateway}) > /tmp/gateway & wait; cat /tmp/direct /tmp/gateway`,
      ),
      // The cluster's own pods reach it at the node's address, as in Kubernetes.
      reach(a, client, `http://${nodeAddress}:${nodePort}/`),
    ]);
    // Directly, and through the intruder's own gateway.
    expect(tried.stdout.trim().split("\n")).toEqual(["closed", "closed"]);
    expect(fromCluster).toBe("ok");
  });
});
