/**
 * The UDP relay's cost on this host: a client on loopback sends datagrams to an echo server
 * (a) directly and (b) through the agent's UDP service proxy (`UdpServiceProxy`, the code the agent
 * runs, in this process), and prints round-trip p50/p99 one datagram at a time, then datagrams per
 * second with 32 in flight. Loopback only: no pods, no firewall; it measures the relay itself.
 *
 *   npm run bench:udp-proxy [-- --count 20000 --json]
 */
import { createSocket, type Socket } from "node:dgram";
import { loadavg } from "node:os";
import type { NetworkService } from "@berth/protocol";
import { pino } from "pino";
import { UdpServiceProxy } from "../src/network/udp-proxy";

const args = process.argv.slice(2);
const COUNT = Number(args[args.indexOf("--count") + 1] ?? "") || 20_000;
const JSON_OUT = args.includes("--json");

async function bound(): Promise<Socket> {
  const s = createSocket("udp4");
  await new Promise<void>((ok) => s.bind(0, "127.0.0.1", ok));
  return s;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

/** One datagram at a time: each waits for its echo. */
async function roundTrips(client: Socket, port: number, count: number): Promise<number[]> {
  const times: number[] = [];
  const payload = Buffer.alloc(64, 1);
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    await new Promise<void>((ok) => {
      client.once("message", () => ok());
      client.send(payload, port, "127.0.0.1");
    });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

/** `inFlight` datagrams outstanding at all times until `count` echoes came back: datagrams per second. */
async function flood(client: Socket, port: number, count: number, inFlight: number): Promise<number> {
  const payload = Buffer.alloc(64, 2);
  let sent = 0;
  let got = 0;
  const started = process.hrtime.bigint();
  await new Promise<void>((ok) => {
    const send = () => {
      sent++;
      client.send(payload, port, "127.0.0.1");
    };
    const on = () => {
      got++;
      if (got >= count) {
        client.off("message", on);
        ok();
      } else if (sent < count) send();
    };
    client.on("message", on);
    for (let i = 0; i < inFlight; i++) send();
  });
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function main() {
  const echo = await bound();
  echo.on("message", (msg, from) => echo.send(msg, from.port, from.address));
  const servicePort = (await bound().then((s) => {
    const { port } = s.address();
    s.close();
    return port;
  })) as number;
  const proxy = new UdpServiceProxy({
    allowed: () => true,
    usable: () => true,
    reachable: () => true,
    logger: pino({ level: "silent" }),
  });
  const service: NetworkService = {
    namespace: "default",
    name: "echo",
    clusterIP: "127.0.0.1",
    sessionAffinity: "None",
    affinityTimeoutSeconds: 0,
    ports: [
      {
        name: "",
        port: servicePort,
        protocol: "UDP",
        endpoints: [{ podId: "p", ip: "127.0.0.1", port: echo.address().port, nodeName: "n" }],
      },
    ],
  };
  await proxy.update([service]);
  const client = await bound();
  const result: Record<string, number> = {};
  for (const [name, port] of [
    ["direct", echo.address().port],
    ["proxied", servicePort],
  ] as const) {
    await roundTrips(client, port, 1_000); // warm up
    const rtt = await roundTrips(client, port, COUNT);
    result[`${name}_p50_ms`] = quantile(rtt, 0.5);
    result[`${name}_p99_ms`] = quantile(rtt, 0.99);
    result[`${name}_dgrams_per_s`] = await flood(client, port, COUNT * 5, 32);
  }
  result.load1 = loadavg()[0] ?? 0;
  if (JSON_OUT) console.log(JSON.stringify(result));
  else {
    const f = (n: number | undefined) => (n ?? 0).toFixed(3);
    console.log(`UDP round trip, 64-byte datagrams, ${COUNT} each (load ${f(result.load1)}):`);
    for (const name of ["direct", "proxied"])
      console.log(
        `  ${name.padEnd(8)} p50 ${f(result[`${name}_p50_ms`])} ms  p99 ${f(result[`${name}_p99_ms`])} ms  ${Math.round(result[`${name}_dgrams_per_s`] ?? 0)} datagrams/s (32 in flight)`,
      );
    console.log(
      `  added    p50 ${f((result.proxied_p50_ms ?? 0) - (result.direct_p50_ms ?? 0))} ms  p99 ${f((result.proxied_p99_ms ?? 0) - (result.direct_p99_ms ?? 0))} ms`,
    );
  }
  proxy.stop();
  client.close();
  echo.close();
}

await main();
