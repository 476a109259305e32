import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";

/** `/sys/class/net/<dev>/addr_assign_type`: 3 is NET_ADDR_SET, an address given explicitly. */
const ADDRESS_SET = "3";

/**
 * Keeps the MAC address of a cluster network's bridge fixed. A Linux bridge whose address was
 * never set takes the lowest address of its ports, so it changes as pods' veths come and go
 * (netavark 1.4 leaves it so); every pod's ARP entry for its gateway is then wrong for a few
 * seconds, and what it sends to the host (the cluster DNS, the service addresses) goes to another
 * port — measured here as a DNS query lost for 5 s, and a connection reset, each time a pod of the
 * host stopped. Setting the bridge's own current address explicitly ends that. The bridge exists
 * only while containers use the network, so this is checked before each container joins it.
 */
export class BridgeAddress {
  private device: string | null = null;

  constructor(private readonly gateway: string) {}

  async pin(): Promise<void> {
    if (this.device && (await assignType(this.device)) === ADDRESS_SET) return;
    this.device = await deviceHolding(this.gateway);
    if (!this.device || (await assignType(this.device)) === ADDRESS_SET) return;
    const mac = (await readFile(`/sys/class/net/${this.device}/address`, "utf8")).trim();
    await run("ip", ["link", "set", "dev", this.device, "address", mac]);
  }
}

const assignType = (device: string) =>
  readFile(`/sys/class/net/${device}/addr_assign_type`, "utf8").then(
    (t) => t.trim(),
    () => null,
  );

/** The host's interface holding `address` (the bridge holds its network's gateway), if any yet. */
async function deviceHolding(address: string): Promise<string | null> {
  const out = await run("ip", ["-o", "-4", "addr", "show", "to", `${address}/32`]);
  return out.split(/\s+/)[1]?.replace(/@.*$/, "") || null;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((ok, fail) =>
    execFile(cmd, args, (error, stdout, stderr) =>
      error ? fail(new Error(`${cmd} ${args.join(" ")}: ${stderr.trim() || error.message}`)) : ok(stdout),
    ),
  );
}
