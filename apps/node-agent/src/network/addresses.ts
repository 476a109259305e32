import { execFile } from "node:child_process";

/**
 * Service addresses as the host's own (/32s on the loopback device): a pod's packets to a clusterIP
 * leave through its gateway, the host takes them as addressed to itself, and the node's service
 * proxy answers. Needs CAP_NET_ADMIN (the agent runs as root). Only addresses this agent added are
 * removed again: another agent of the same host may have added the others.
 */
export class HostAddresses {
  private readonly added = new Set<string>();

  constructor(private readonly device = "lo") {}

  async ensure(ip: string): Promise<void> {
    try {
      await ip4(["addr", "add", `${ip}/32`, "dev", this.device]);
      this.added.add(ip);
    } catch (error) {
      if (!/File exists|already assigned/i.test((error as Error).message)) throw error;
    }
  }

  /** Removes the addresses this agent added and no longer wants. */
  async keepOnly(wanted: ReadonlySet<string>): Promise<void> {
    for (const ip of [...this.added]) if (!wanted.has(ip)) await this.remove(ip);
  }

  async removeAll(): Promise<void> {
    for (const ip of [...this.added]) await this.remove(ip);
  }

  private async remove(ip: string): Promise<void> {
    this.added.delete(ip);
    await ip4(["addr", "del", `${ip}/32`, "dev", this.device]).catch(() => {});
  }
}

function ip4(args: string[]): Promise<void> {
  return new Promise((ok, fail) =>
    execFile("ip", ["-4", ...args], (error, _stdout, stderr) =>
      error ? fail(new Error(`ip ${args.join(" ")}: ${stderr.trim() || error.message}`)) : ok(),
    ),
  );
}
