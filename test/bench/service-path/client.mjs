// Runs inside a pod's network namespace (nsenter -n) with the host's node: an HTTP/1.1 keep-alive
// client. Prints one JSON line: requests, errors, req/s, p50/p99/max latency in ms.
//   node client.mjs <url> flat <seconds> <connections>   closed loop, each connection sends its next request on the reply
//   node client.mjs <url> rate <seconds> <rps>            open loop at a fixed rate
//   node client.mjs <url> fresh <seconds> 1               closed loop, a new connection for every request
import http from "node:http";

const [url, mode, secondsArg, nArg] = process.argv.slice(2);
const seconds = Number(secondsArg);
const n = Number(nArg);
const agent = new http.Agent({ keepAlive: mode !== "fresh", maxSockets: mode === "rate" ? 64 : n });
const latencies = [];
let errors = 0;

function once() {
  return new Promise((done) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on("end", () => done(res.statusCode === 200));
    });
    req.on("error", () => done(false));
  });
}

const started = performance.now();
const end = started + seconds * 1000;
if (mode === "flat" || mode === "fresh") {
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        if (await once()) latencies.push(performance.now() - t);
        else errors++;
      }
    }),
  );
} else {
  // Open loop: every millisecond, the requests that are due go out (no busy wait: the machine is
  // small and the proxies need its CPU); each one's latency is from when it went out.
  const interval = 1000 / n;
  const pending = [];
  let i = 0;
  while (performance.now() < end) {
    const now = performance.now();
    for (; started + i * interval <= now; i++) {
      const sent = performance.now();
      pending.push(
        once().then((ok) => {
          if (ok) latencies.push(performance.now() - sent);
          else errors++;
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
}
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
console.log(
  JSON.stringify({
    requests: latencies.length,
    errors,
    rps: Math.round(latencies.length / elapsed),
    p50: q(0.5),
    p99: q(0.99),
    max: latencies.at(-1) ?? Number.NaN,
  }),
);
agent.destroy();
