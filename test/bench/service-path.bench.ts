/**
 * The service path's cost (issue #13): an HTTP/1.1 keep-alive client in a pod of node A calls
 *   (a) a pod directly (its address on the cluster network),
 *   (b) a Service whose only endpoint is on node A (the agent's proxy, dialled straight),
 *   (c) a Service whose only endpoint is on node B (A's proxy → a stream of A's mutual-TLS session
 *       to B's tunnel → the pod),
 * and prints p50/p99 per request and req/s, flat out (1 and 16 connections; and 1 connection with a
 * new connection per request, a new tunnel stream each) and at a fixed 1,000 req/s,
 * with the latency the path adds (b − a, c − a). Real everything: the control API and provisioner
 * in this process, two node agents as their own processes (`src/index.ts`) on this host with real
 * Podman containers; client and server are the host's `node` run inside the pods' network
 * namespaces (`nsenter -t <pid> -n`), so the client's address is its pod's.
 *
 *   npm run bench:service-path                     # 5 s a case
 *   npm run bench:service-path -- --seconds 10 --json
 *
 * Needs root (nsenter, the agents' addresses and firewall) and the services of infra/services.sh.
 */

import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { dismantleNodeNetwork } from "@berth/node-agent/network";
import { containersOf, engine, freePort, hostPortBlock, type Proc, poll, ROOT, start } from "../e2e/support";
import { listening, metricValue, pinnedDeployment, startAgents } from "../integration/agent-support";
import { startPlatform } from "../integration/harness";
import { flag, json } from "./flags";

const SECONDS = flag("--seconds", 5);
const HERE = join(ROOT, "test/bench/service-path");

const p = await startPlatform();
// The API on a real port (the agents are processes of their own); no agent is started in here.
const served = await startAgents(p);
const procs: Proc[] = [];
const stateDirs: string[] = [];
const { token } = await p.api.tenant("bench-path");
const clusterId = await p.activeCluster(token, "bench");
const call = async (method: string, path: string, body?: unknown) => {
  const r = await p.api.call(method, `/v1/clusters/${clusterId}/${path}`, {
    token,
    ...(body ? { body } : {}),
  });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.body;
};

async function cleanup() {
  for (const proc of procs) proc.child.kill("SIGTERM");
  await Promise.all(procs.map((x) => Promise.race([x.exited, new Promise((r) => setTimeout(r, 10_000))])));
  const nodes = ((await call("GET", "nodes").catch(() => ({ items: [] }))) as { items: { id: string }[] })
    .items;
  for (const n of nodes)
    for (const c of await containersOf(n.id)) await engine("DELETE", `/containers/${c.Id}?force=true`);
  for (const n of nodes) await dismantleNodeNetwork(served.runtime, { nodeId: n.id, clusterId });
  for (const dir of stateDirs) await rm(dir, { recursive: true, force: true });
  await served.close();
  await p.close();
}

try {
  const jt = (await call("POST", "join-tokens", { maxUses: 2 })) as { token: string };
  const healthPorts: Record<string, number> = {};
  const startAgent = async (name: string) => {
    const stateDir = await mkdtemp(join(tmpdir(), `berth-${name}-`));
    stateDirs.push(stateDir);
    const range = hostPortBlock(10);
    healthPorts[name] = await freePort();
    procs.push(
      start(
        process.execPath,
        [
          "--import",
          "tsx",
          "apps/node-agent/src/index.ts",
          ...["--server", served.url, "--join-token", jt.token, "--name", name, "--state-dir", stateDir],
          ...["--port-range", `${range.min}-${range.max}`, "--tunnel-port", "0", "--network-poll-ms", "500"],
          ...["--health-port", String(healthPorts[name]), "--no-self-update"],
        ],
        { LOG_LEVEL: "warn" },
      ),
    );
  };
  const pinned = (name: string, node: string, command?: string[]) =>
    pinnedDeployment(name, node, command ? { command } : {});
  const service = (name: string) => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name },
    // A numeric targetPort and no declared container port: no host port to publish (and collide).
    spec: { selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: 8081 }] },
  });
  // Node A alone until its proxy serves both Services: agents of one host share the service
  // addresses, and the first to listen on one serves it (on separate hosts each node serves its own).
  await startAgent("bench-a");
  await call("POST", "apply", [service("web-a"), service("web-b")]);
  const ipOf = async (name: string) =>
    ((await call("GET", `services/default/${name}`)) as { spec: { clusterIP: string } }).spec.clusterIP;
  for (const name of ["web-a", "web-b"]) {
    const ip = await ipOf(name);
    await poll(`bench-a serving ${name}`, () => listening(ip, 80), 60_000);
  }
  await startAgent("bench-b");
  await call("POST", "apply", [
    pinned("web-a", "bench-a"),
    pinned("web-b", "bench-b"),
    pinned("client", "bench-a", ["sleep", "3600"]),
  ]);
  type Pod = { id: string; name: string; nodeName: string; phase: string; status: { podIP?: string } };
  const podOf = (app: string) =>
    poll(
      `pod ${app} running`,
      async () => {
        const [x] = (await call("GET", `pods?namespace=default&labelSelector=app%3D${app}`)).items as Pod[];
        return x?.phase === "Running" && x.status.podIP ? x : undefined;
      },
      120_000,
    );
  const [webA, webB, client] = [await podOf("web-a"), await podOf("web-b"), await podOf("client")];
  const pidOf = async (pod: Pod) => {
    const filters = encodeURIComponent(JSON.stringify({ label: [`berth.pod=${pod.id}`] }));
    const [c] = (await engine("GET", `/containers/json?filters=${filters}`)).body as { Id: string }[];
    const info = (await engine("GET", `/containers/${c?.Id}/json`)).body as { State: { Pid: number } };
    return info.State.Pid;
  };
  for (const pod of [webA, webB]) {
    const server = start(
      "nsenter",
      ["-t", String(await pidOf(pod)), "-n", process.execPath, join(HERE, "server.mjs")],
      {},
    );
    procs.push(server);
    await server.waitForOutput(/listening/, 10_000);
  }
  const clientPid = await pidOf(client);
  const run = (url: string, mode: string, seconds: number, n: number) =>
    new Promise<{ requests: number; errors: number; rps: number; p50: number; p99: number; max: number }>(
      (ok, fail) =>
        execFile(
          "nsenter",
          [
            "-t",
            String(clientPid),
            "-n",
            process.execPath,
            join(HERE, "client.mjs"),
            url,
            mode,
            String(seconds),
            String(n),
          ],
          { timeout: (seconds + 30) * 1000 },
          (error, stdout) => (error ? fail(error) : ok(JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}"))),
        ),
    );
  const targets = {
    "(a) pod A direct": `http://${webA.status.podIP}:8081/`,
    "(b) service → pod A (same node)": `http://${await ipOf("web-a")}/`,
    "(a') pod B direct": `http://${webB.status.podIP}:8081/`,
    "(c) service → pod B (other node, mTLS tunnel)": `http://${await ipOf("web-b")}/`,
  };
  // Both services answer (the endpoints have reached node A's proxy).
  for (const url of Object.values(targets))
    await poll(`${url} answers`, async () => {
      const r = await run(url, "flat", 0.3, 1).catch(() => null);
      return r && r.requests > 0 && r.errors === 0;
    });
  // Agents of one host share the service addresses: if node B's proxy took one, (b) and (c) would
  // not take the paths their names say (checked again at the end). Node B dials only then.
  const scrape = async (node: string) =>
    (await fetch(`http://127.0.0.1:${healthPorts[node]}/metrics`)).text();
  const read = metricValue;
  if (read(await scrape("bench-b"), "berth_agent_tunnel_dialled_total") > 0) {
    // Who listens on the service addresses (node B's pid, it has been so far).
    const ips = [await ipOf("web-a"), await ipOf("web-b")];
    const ss = await new Promise<string>((ok) => execFile("ss", ["-ltnpH"], (_e, out) => ok(out)));
    console.error(
      ss
        .split("\n")
        .filter((l) => ips.some((ip) => l.includes(`${ip}:`)))
        .join("\n"),
    );
    console.error(`agents' pids: bench-a ${procs[0]?.child.pid}, bench-b ${procs[1]?.child.pid}`);
    throw new Error("node B's proxy serves a service address (agents of one host share them): run again");
  }
  const cases = [
    { label: "flat out, 1 connection", mode: "flat", n: 1 },
    { label: "flat out, 16 connections", mode: "flat", n: 16 },
    { label: "1,000 req/s, fixed rate", mode: "rate", n: 1000 },
    { label: "new connection per request", mode: "fresh", n: 1 },
  ];
  type Result = Awaited<ReturnType<typeof run>> & { agentLagMaxMs: number };
  const results: Record<string, Record<string, Result>> = {};
  // The longest the agents' event loops stalled during a run (prom-client resets it at each scrape).
  const agentLag = async () =>
    Math.max(
      ...(await Promise.all(["bench-a", "bench-b"].map(scrape))).map(
        (m) => read(m, "nodejs_eventloop_lag_max_seconds") * 1000,
      ),
    );
  console.log(
    `load average before: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")} (2 cores, shared)`,
  );
  for (const c of cases) {
    results[c.label] = {};
    for (const [name, url] of Object.entries(targets)) {
      await run(url, c.mode, 0.5, c.n); // warm-up (connections, sessions, JIT)
      await agentLag();
      const r = await run(url, c.mode, SECONDS, c.n);
      (results[c.label] as Record<string, Result>)[name] = { ...r, agentLagMaxMs: await agentLag() };
    }
  }
  const f = (x: number) => x.toFixed(3);
  for (const c of cases) {
    console.log(`\n${c.label}, ${SECONDS} s each`);
    console.log(
      "target".padEnd(48),
      "req/s".padStart(8),
      "p50 ms".padStart(9),
      "p99 ms".padStart(9),
      "max ms".padStart(9),
      "errors".padStart(7),
      "agents' loop stall max ms".padStart(26),
    );
    const rows = results[c.label] ?? {};
    for (const [name, r] of Object.entries(rows))
      console.log(
        name.padEnd(48),
        String(r.rps).padStart(8),
        f(r.p50).padStart(9),
        f(r.p99).padStart(9),
        f(r.max).padStart(9),
        String(r.errors).padStart(7),
        f(r.agentLagMaxMs).padStart(26),
      );
    const a = rows["(a) pod A direct"];
    const a2 = rows["(a') pod B direct"];
    const b = rows["(b) service → pod A (same node)"];
    const cc = rows["(c) service → pod B (other node, mTLS tunnel)"];
    if (a && a2 && b && cc)
      console.log(
        `added: b − a p50 ${f(b.p50 - a.p50)} p99 ${f(b.p99 - a.p99)} ms; c − a' p50 ${f(cc.p50 - a2.p50)} p99 ${f(cc.p99 - a2.p99)} ms (c − a p99 ${f(cc.p99 - a.p99)} ms)`,
      );
  }
  const metrics = await scrape("bench-a");
  const other = await scrape("bench-b");
  const dialled = read(metrics, "berth_agent_tunnel_dialled_total");
  const handshakes = read(metrics, "berth_agent_tunnel_handshakes_total");
  const handshake = read(metrics, "berth_agent_tunnel_handshake_seconds_total");
  const sessionsOpen = read(metrics, "berth_agent_tunnel_sessions");
  const sent = read(metrics, "berth_agent_tunnel_sent_bytes_total");
  const received = read(metrics, "berth_agent_tunnel_received_bytes_total");
  console.log(
    `\ntunnel (node A): ${dialled} streams dialled over ${handshakes} session(s) opened in all (${sessionsOpen} open now; TCP connect + TLS 1.3 + HTTP/2 preface ${((handshake / handshakes) * 1000).toFixed(3)} ms each); ${(sent / 2 ** 20).toFixed(1)} MiB sent, ${(received / 2 ** 20).toFixed(1)} MiB received`,
  );
  // Which proxy served: node B dials (and A accepts) only if B's proxy took a service address.
  console.log(
    `tunnel (node B): ${read(other, "berth_agent_tunnel_accepted_total")} streams accepted, ${read(other, "berth_agent_tunnel_dialled_total")} dialled; node A accepted ${read(metrics, "berth_agent_tunnel_accepted_total")}`,
  );
  if (!(dialled > 0) || read(other, "berth_agent_tunnel_dialled_total") > 0) {
    console.error(
      "node B's proxy served some service address (agents of one host share them): (b) and (c) did not take the paths their names say — run again",
    );
    process.exitCode = 1;
  }
  console.log(
    `load average after: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  if (json)
    console.log(
      JSON.stringify({
        seconds: SECONDS,
        results,
        tunnel: {
          dialled,
          handshakes,
          handshakeSeconds: handshake,
          sentBytes: sent,
          receivedBytes: received,
        },
      }),
    );
} catch (error) {
  for (const proc of procs)
    console.error(`--- ${proc.child.spawnargs.slice(-12).join(" ")}\n${proc.output().slice(-3000)}`);
  throw error;
} finally {
  await cleanup();
}
// The path check above sets a failing exit code.
process.exit(process.exitCode ?? 0);
