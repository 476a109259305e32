/**
 * The native runtime's networks: each a Linux bridge with a subnet (the host is its `.1`), each
 * container (or sandbox) a named network namespace `/run/netns/berth-<id>` with a veth pair into
 * the bridge and an address of the subnet, published ports DNAT rules of one nat chain of ours
 * (from the host's own addresses, 127.0.0.1 included, and from outside). Records, claimed subnets
 * and claimed addresses are files under `<root>/`, claimed with O_EXCL so concurrent callers
 * never get the same one.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { NetworkInfo, PortMapping } from "../types";
import { command } from "./command";

const CHAIN = "BERTH-NATIVE-HOSTPORTS";

interface NetworkRecord extends NetworkInfo {
  bridge: string;
  labels: Record<string, string>;
}

const locks = new Map<string, Promise<unknown>>();
function locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(key) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  locks.set(
    key,
    next.catch(() => {}),
  );
  return next;
}

const ip = (args: string[], input?: string) => command("ip", args, input);
const iptables = (args: string[]) => command("iptables", ["-w", ...args]);

async function ensureRule(table: string, chain: string, spec: string[]): Promise<void> {
  try {
    await iptables(["-t", table, "-C", chain, ...spec]);
  } catch {
    await iptables(["-t", table, "-A", chain, ...spec]);
  }
}

function toInt(addr: string): number {
  return addr.split(".").reduce((n, p) => n * 256 + Number(p), 0);
}
function toAddr(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}
function range(cidr: string): [number, number] {
  const [addr = "0.0.0.0", bits = "32"] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(toInt(addr) / size) * size;
  return [start, start + size - 1];
}
function overlaps(a: string, b: string): boolean {
  const [a0, a1] = range(a);
  const [b0, b1] = range(b);
  return a0 <= b1 && b0 <= a1;
}

export class NativeNetworks {
  /** Bridges made or checked by this process: a bridge goes only with a reboot (or removeNetwork). */
  private readonly upNow = new Set<string>();

  constructor(
    private readonly root: string,
    /** Where subnets are chosen from when none is asked for: its /24s, in order. */
    private readonly pool = "10.200.0.0/16",
  ) {}

  private recordPath(name: string): string {
    return join(this.root, "networks", `${encodeURIComponent(name)}.json`);
  }

  async get(name: string): Promise<NetworkRecord | null> {
    const raw = await readFile(this.recordPath(name), "utf8").catch(() => null);
    return raw === null ? null : (JSON.parse(raw) as NetworkRecord);
  }

  ensure(name: string, labels: Record<string, string>, subnet?: string): Promise<NetworkInfo> {
    return locked(`${this.root}:networks`, async () => {
      let record = await this.get(name);
      if (!record) {
        const chosen = subnet ?? (await this.freeSubnet());
        const [start] = range(chosen);
        record = {
          name,
          subnet: `${toAddr(start)}/${chosen.split("/")[1]}`,
          gateway: toAddr(start + 1),
          bridge: `bn${createHash("sha256").update(name).digest("hex").slice(0, 12)}`,
          labels,
        };
        await mkdir(join(this.root, "networks"), { recursive: true });
        await writeFile(this.recordPath(name), JSON.stringify(record));
      }
      await this.up(record);
      return { name: record.name, subnet: record.subnet, gateway: record.gateway };
    });
  }

  private async freeSubnet(): Promise<string> {
    const taken: string[] = [];
    for (const line of (await ip(["-4", "route", "show", "table", "all"])).split("\n")) {
      const dest = line.trim().split(/\s+/)[0] ?? "";
      if (/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(dest) && !dest.startsWith("127.") && dest !== "0.0.0.0")
        taken.push(dest.includes("/") ? dest : `${dest}/32`);
    }
    for (const file of await readdir(join(this.root, "networks")).catch(() => [] as string[])) {
      const r = JSON.parse(await readFile(join(this.root, "networks", file), "utf8")) as NetworkRecord;
      taken.push(r.subnet);
    }
    const [start, end] = range(this.pool);
    for (let s = start; s + 255 <= end; s += 256) {
      const cand = `${toAddr(s)}/24`;
      if (!taken.some((t) => overlaps(t, cand))) return cand;
    }
    throw new Error(`no free /24 left in ${this.pool}`);
  }

  /** The bridge, its address, forwarding and NAT: made when missing (after a reboot too). */
  private async up(r: NetworkRecord): Promise<void> {
    if (this.upNow.has(r.bridge) && existsSync(`/sys/class/net/${r.bridge}`)) return;
    const bits = r.subnet.split("/")[1];
    if (!existsSync(`/sys/class/net/${r.bridge}`)) {
      await ip(
        ["-batch", "-"],
        `link add ${r.bridge} type bridge\naddr add ${r.gateway}/${bits} dev ${r.bridge}\n`,
      ).catch((err: Error) => {
        if (!existsSync(`/sys/class/net/${r.bridge}`)) throw err;
      });
    }
    await ip(["link", "set", r.bridge, "up"]);
    await writeFile("/proc/sys/net/ipv4/ip_forward", "1");
    await writeFile(`/proc/sys/net/ipv4/conf/${r.bridge}/route_localnet`, "1");
    await iptables(["-t", "nat", "-N", CHAIN]).catch(() => {});
    await ensureRule("nat", "PREROUTING", ["-m", "addrtype", "--dst-type", "LOCAL", "-j", CHAIN]);
    await ensureRule("nat", "OUTPUT", ["-m", "addrtype", "--dst-type", "LOCAL", "-j", CHAIN]);
    for (const rule of this.natRules(r)) await ensureRule("nat", "POSTROUTING", rule);
    for (const rule of this.forwardRules(r)) await ensureRule("filter", "FORWARD", rule);
    this.upNow.add(r.bridge);
  }

  private natRules(r: NetworkRecord): string[][] {
    return [
      ["-s", r.subnet, "!", "-o", r.bridge, "-j", "MASQUERADE"],
      ["-s", "127.0.0.0/8", "-o", r.bridge, "-j", "MASQUERADE"],
    ];
  }
  private forwardRules(r: NetworkRecord): string[][] {
    return [
      ["-i", r.bridge, "-j", "ACCEPT"],
      ["-o", r.bridge, "-j", "ACCEPT"],
    ];
  }

  /** Removes the network; false while `inUse`. Gone already counts as removed. */
  remove(name: string, inUse: boolean): Promise<boolean> {
    return locked(`${this.root}:networks`, async () => {
      const r = await this.get(name);
      if (!r) return true;
      if (inUse) return false;
      this.upNow.delete(r.bridge);
      await ip(["link", "del", r.bridge]).catch(() => {});
      for (const rule of this.natRules(r))
        await iptables(["-t", "nat", "-D", "POSTROUTING", ...rule]).catch(() => {});
      for (const rule of this.forwardRules(r)) await iptables(["-D", "FORWARD", ...rule]).catch(() => {});
      await rm(join(this.root, "ips", encodeURIComponent(name)), { recursive: true, force: true });
      await rm(this.recordPath(name), { force: true });
      return true;
    });
  }

  /** Claims the lowest free address of the network for `owner`. */
  async allocate(name: string, owner: string): Promise<string> {
    const r = await this.get(name);
    if (!r) throw new Error(`network ${name} does not exist`);
    const dir = join(this.root, "ips", encodeURIComponent(name));
    await mkdir(dir, { recursive: true });
    const [start, end] = range(r.subnet);
    for (let n = start + 2; n < end; n++) {
      const addr = toAddr(n);
      try {
        await writeFile(join(dir, addr), owner, { flag: "wx" });
        return addr;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
    }
    throw new Error(`network ${name} has no free address`);
  }

  async release(name: string, addr: string): Promise<void> {
    await rm(join(this.root, "ips", encodeURIComponent(name), addr), { force: true });
  }

  netnsPath(id: string): string {
    return `/run/netns/berth-${id.slice(0, 12)}`;
  }

  /**
   * The container's network namespace, with a veth pair into the bridge (made once), and how its
   * side is to be addressed: the shim sets `eth0`'s address, `lo` and the default route from
   * inside (one process fewer per start than `ip -n`: spawns are what costs in a TCG guest).
   */
  async attach(
    id: string,
    name: string,
    addr: string,
  ): Promise<{ path: string; cidr: string; gateway: string }> {
    const r = await this.get(name);
    if (!r) throw new Error(`network ${name} does not exist`);
    const path = this.netnsPath(id);
    const addressing = { path, cidr: `${addr}/${r.subnet.split("/")[1]}`, gateway: r.gateway };
    if (existsSync(path)) return addressing;
    const ns = `berth-${id.slice(0, 12)}`;
    const veth = `vn${id.slice(0, 12)}`;
    try {
      await ip(
        ["-batch", "-"],
        `netns add ${ns}\nlink add ${veth} type veth peer name eth0 netns ${ns}\nlink set ${veth} master ${r.bridge} up\n`,
      );
    } catch (err) {
      await this.detach(id);
      throw err;
    }
    return addressing;
  }

  async detach(id: string): Promise<void> {
    await ip(["link", "del", `vn${id.slice(0, 12)}`]).catch(() => {});
    await ip(["netns", "del", `berth-${id.slice(0, 12)}`]).catch(() => {});
  }

  /** DNAT rules from the host ports to the container's address (replacing any it had, unless told it had none). */
  async publish(id: string, addr: string, ports: readonly PortMapping[], replace = true): Promise<void> {
    if (replace) await this.unpublish(id);
    for (const p of ports) {
      const dest = p.hostIp && p.hostIp !== "0.0.0.0" ? ["-d", `${p.hostIp}/32`] : [];
      await iptables([
        "-t",
        "nat",
        "-A",
        CHAIN,
        "-p",
        p.protocol,
        ...dest,
        "--dport",
        String(p.hostPort),
        "-m",
        "comment",
        "--comment",
        `berth-native:${id.slice(0, 12)}`,
        "-j",
        "DNAT",
        "--to-destination",
        `${addr}:${p.containerPort}`,
      ]);
    }
  }

  async unpublish(id: string): Promise<void> {
    const rules = await iptables(["-t", "nat", "-S", CHAIN]).catch(() => "");
    for (const line of rules.split("\n")) {
      if (!line.includes(`berth-native:${id.slice(0, 12)}`)) continue;
      // `-S` prints the comment quoted: the quotes are not part of it.
      const args = line
        .trim()
        .split(/\s+/)
        .map((a) => a.replace(/^"(.*)"$/, "$1"));
      args[0] = "-D";
      await iptables(["-t", "nat", ...args]).catch(() => {});
    }
  }
}
