import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { parseListeningPorts, readListeningPorts } from "./host-ports";

const header =
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";

describe("listening ports", () => {
  it("reads listening TCP and bound UDP sockets from /proc/net text, IPv4 and IPv6", () => {
    const tcp = [
      header,
      "   0: 0100007F:7531 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1",
      "   1: 0100007F:7532 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1",
    ].join("\n");
    const tcp6 = [
      header,
      "   0: 00000000000000000000000000000000:7533 00000000000000000000000000000000:0000 0A 0 0 0 0 0 3 1",
    ].join("\n");
    const udp = [
      header,
      "  10: 00000000:7534 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 4 2",
    ].join("\n");
    expect([...parseListeningPorts({ tcp: [tcp, tcp6], udp: [udp, ""] })].sort()).toEqual([
      0x7531, 0x7533, 0x7534,
    ]);
  });

  it("finds a port this process listens on", async () => {
    const server = createServer();
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const port = (server.address() as { port: number }).port;
    try {
      expect((await readListeningPorts()).has(port)).toBe(true);
    } finally {
      server.close();
    }
  });
});
