import { execFile, spawn } from "node:child_process";
import { NO_POLICY_RULES, type PolicyChains, type PolicyRules } from "./policy-rules";

export interface Opening {
  ip: string;
  port: number;
  protocol: "tcp" | "udp";
}

const METADATA = "169.254.0.0/16";

/**
 * The host's firewall for one cluster network (iptables; two chains of its own, named by its
 * subnet, rewritten whole and atomically with `iptables-restore --noflush`):
 *  - forward: nothing from outside the network opens a connection to its pods (replies, and
 *    connections to ports the engine published, pass), and its pods never reach link-local
 *    addresses (169.254.169.254, the cloud's metadata service);
 *  - input: its pods reach the host only at the cluster's service addresses and ports and its DNS
 *    address — never the agent's or the control plane's own ports, nor anything else the host
 *    serves — and replies to what the host opened (probes).
 * NetworkPolicy adds two chains (`policy-rules.ts`), rewritten in the same transaction.
 * Netavark's own `isolate` option is set on the network too, but these rules do not depend on it
 * (with netavark 1.4 its rules were there for one network of two, and the other's pods got through).
 */
export class PodFirewall {
  private readonly forward: string;
  private readonly input: string;
  /** The chains of the network's NetworkPolicy rules. */
  readonly policyChains: PolicyChains;

  constructor(private readonly subnet: string) {
    const hex = subnet
      .split("/")[0]
      ?.split(".")
      .map((p) => Number(p).toString(16).padStart(2, "0"))
      .join("");
    const bits = subnet.split("/")[1] ?? "32";
    this.forward = `BERTH-FWD-${hex}-${bits}`;
    this.input = `BERTH-IN-${hex}-${bits}`;
    this.policyChains = { ingress: `BERTH-PI-${hex}-${bits}`, egress: `BERTH-PE-${hex}-${bits}` };
  }

  /** The chains and their jumps; until `allow` the pods reach nothing of the host. */
  async install(openings: readonly Opening[] = []): Promise<void> {
    await this.write(openings);
    await ensureRule(["FORWARD", "-j", this.forward]);
    // Not from lo: the host's own connections to its address on the network are its business.
    await ensureRule(["INPUT", "-s", this.subnet, "!", "-i", "lo", "-j", this.input]);
  }

  /** What the pods may reach on the host: exactly these addresses and ports; and the policies' rules. */
  async allow(openings: readonly Opening[], policy: PolicyRules = NO_POLICY_RULES): Promise<void> {
    await this.write(openings, policy);
  }

  async remove(): Promise<void> {
    await iptables(["-D", "FORWARD", "-j", this.forward]).catch(() => {});
    await iptables(["-D", "INPUT", "-s", this.subnet, "!", "-i", "lo", "-j", this.input]).catch(() => {});
    for (const chain of [this.forward, this.input, this.policyChains.ingress, this.policyChains.egress]) {
      await iptables(["-F", chain]).catch(() => {});
      await iptables(["-X", chain]).catch(() => {});
    }
  }

  private write(openings: readonly Opening[], policy: PolicyRules = NO_POLICY_RULES): Promise<void> {
    const s = this.subnet;
    const lines = [
      "*filter",
      `:${this.forward} - [0:0]`,
      `:${this.input} - [0:0]`,
      `:${this.policyChains.ingress} - [0:0]`,
      `:${this.policyChains.egress} - [0:0]`,
      `-A ${this.forward} -d ${s} ! -s ${s} -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
      `-A ${this.forward} -s ${s} -d ${METADATA} -j DROP`,
      ...policy.forward.map((r) => `-A ${this.forward} ${r}`),
      ...policy.ingress,
      ...policy.egress,
      `-A ${this.input} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
      ...policy.input.map((r) => `-A ${this.input} ${r}`),
      ...openings.map((o) => `-A ${this.input} -d ${o.ip}/32 -p ${o.protocol} --dport ${o.port} -j RETURN`),
      `-A ${this.input} -j DROP`,
      "COMMIT",
      "",
    ];
    return restore(lines.join("\n"));
  }
}

async function ensureRule(rule: string[]): Promise<void> {
  const [chain = "", ...spec] = rule;
  try {
    await iptables(["-C", chain, ...spec]);
  } catch {
    await iptables(["-I", chain, "1", ...spec]);
  }
}

export function iptables(args: string[]): Promise<void> {
  return new Promise((ok, fail) =>
    execFile("iptables", ["-w", ...args], (error, _stdout, stderr) =>
      error ? fail(new Error(`iptables ${args.join(" ")}: ${stderr.trim() || error.message}`)) : ok(),
    ),
  );
}

export function restore(rules: string): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn("iptables-restore", ["-w", "--noflush"], { stdio: ["pipe", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", fail);
    child.on("close", (code) =>
      code === 0 ? ok() : fail(new Error(`iptables-restore: ${err.trim() || code}`)),
    );
    child.stdin.end(rules);
  });
}
