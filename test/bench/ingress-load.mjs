// The load of ingress.bench.ts, in a worker thread: `connections` loops, each sending one request
// after the other for `seconds`, over a new connection per request (keepAlive false: Connection:
// close, as ingress-nginx's "no keep-alive" figure is measured) or over kept-alive connections.
// Posts every request's latency (ms) and the count of failures.
import http from "node:http";
import https from "node:https";
import { parentPort, workerData } from "node:worker_threads";

const { host, port, hostHeader, tls, keepAlive, servername, ca, connections, seconds } = workerData;
const mod = tls ? https : http;
const agent = keepAlive
  ? new mod.Agent({ keepAlive: true, maxSockets: connections, ...(tls ? { servername, ca } : {}) })
  : false;
const latencies = [];
let failed = 0;
let non2xx = 0;
const deadline = performance.now() + seconds * 1000;

function once() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = mod.request(
      {
        host,
        port,
        path: "/",
        agent,
        headers: { host: hostHeader, ...(keepAlive ? {} : { connection: "close" }) },
        ...(tls && !keepAlive ? { servername, ca } : {}),
      },
      (res) => {
        res.resume();
        res.once("end", () => {
          latencies.push(performance.now() - t0);
          if (res.statusCode < 200 || res.statusCode >= 300) non2xx++;
          resolve();
        });
      },
    );
    req.once("error", () => {
      failed++;
      resolve();
    });
    req.end();
  });
}

async function loop() {
  while (performance.now() < deadline) await once();
}

await Promise.all(Array.from({ length: connections }, loop));
agent?.destroy?.();
parentPort.postMessage({ latencies: Float64Array.from(latencies), failed, non2xx, seconds });
