// Runs inside a pod's network namespace (nsenter -n): a tiny keep-alive HTTP server on :8081.
import http from "node:http";

const server = http.createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/plain", "content-length": "3" });
  res.end("ok\n");
});
server.keepAliveTimeout = 120_000;
server.listen(8081, "0.0.0.0", () => console.log("listening"));
