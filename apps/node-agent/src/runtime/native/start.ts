/**
 * Starting a native container: its network namespace (its own, wired to its network, or its
 * sandbox's), published ports, resolver files, cgroups and the shim's configuration, then the
 * shim itself, which answers once the container's command has been exec'd.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { RuntimeError } from "../types";
import type { Cgroups } from "./cgroups";
import { CommandError, command } from "./command";
import type { ContainerRecord, ContainerStore } from "./containers";
import type { NativeNetworks } from "./network";
import { shimConfig } from "./shim-config";

export interface StartDeps {
  store: ContainerStore;
  networks: NativeNetworks;
  cgroups: Cgroups;
  shimPath: string;
  defaultUser: string;
  pidsLimit: number;
  logMaxBytes: number;
}

export function etcFiles(dir: string) {
  return {
    resolv: join(dir, "etc", "resolv.conf"),
    hostname: join(dir, "etc", "hostname"),
    hosts: join(dir, "etc", "hosts"),
  };
}

async function writeEtc(record: ContainerRecord, dir: string, hostname: string): Promise<void> {
  const files = etcFiles(dir);
  await mkdir(join(dir, "etc"), { recursive: true });
  const net = record.spec.network;
  const resolv = net
    ? [
        ...net.dns.map((d) => `nameserver ${d}`),
        ...(net.dnsSearch.length > 0 ? [`search ${net.dnsSearch.join(" ")}`] : []),
        ...(net.dnsOptions.length > 0 ? [`options ${net.dnsOptions.join(" ")}`] : []),
      ].join("\n")
    : (await readFile("/etc/resolv.conf", "utf8").catch(() => "")).trim();
  await writeFile(files.resolv, `${resolv}\n`);
  await writeFile(files.hostname, `${hostname}\n`);
  const self = record.ip ? `${record.ip}\t${hostname}\n` : "";
  await writeFile(files.hosts, `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n${self}`);
}

export async function startContainer(d: StartDeps, record: ContainerRecord): Promise<void> {
  const dir = d.store.dir(record.id);
  await rm(join(dir, "exit"), { force: true });
  await rm(join(dir, "pid"), { force: true });
  for (const sub of ["upper", "work", "merged"])
    await mkdir(join(dir, sub), { recursive: true, mode: 0o755 });

  let netns: string;
  let utsns: string | null = null;
  let addressing: { cidr: string; gateway: string } | null = null;
  let etcDir = dir;
  let hostname = record.spec.hostname || record.id.slice(0, 12);
  if (record.spec.sandboxId) {
    const sandbox = await d.store.find(record.spec.sandboxId);
    const run = sandbox ? d.store.runState(sandbox) : null;
    if (!sandbox || run?.state !== "running" || !run.pid)
      throw new RuntimeError(
        "CONFLICT",
        `the sandbox ${record.spec.sandboxId} of ${record.name} is not running`,
      );
    netns = d.networks.netnsPath(sandbox.id);
    utsns = `/proc/${run.pid}/ns/uts`;
    etcDir = d.store.dir(sandbox.id);
    hostname = sandbox.spec.hostname || sandbox.id.slice(0, 12);
  } else {
    if (!record.network || !record.ip) throw new RuntimeError("FAILED", `${record.name} has no network`);
    const attached = await d.networks.attach(record.id, record.network, record.ip);
    netns = attached.path;
    addressing = { cidr: attached.cidr, gateway: attached.gateway };
    // Never started: no rules to replace (one `iptables -S` fewer on the way to running).
    if (record.spec.ports.length > 0)
      await d.networks.publish(record.id, record.ip, record.spec.ports, record.startedAt !== null);
    await writeEtc(record, dir, hostname);
  }

  const cgroups = await d.cgroups.create(record.id, {
    memoryBytes: record.spec.resources.memoryBytes,
    nanoCpus: record.spec.resources.nanoCpus,
    pidsLimit: d.pidsLimit,
  });
  let config: Buffer;
  try {
    config = shimConfig({
      spec: record.spec,
      image: record.imageConfig,
      rootfs: record.rootfs,
      dir,
      defaultUser: d.defaultUser,
      logMaxBytes: d.logMaxBytes,
      cgroups,
      netns,
      addressing,
      utsns,
      hostname,
      etc: etcFiles(etcDir),
    });
  } catch (err) {
    throw new RuntimeError("FAILED", `start ${record.name}: ${(err as Error).message}`);
  }
  await writeFile(join(dir, "config"), config);
  const startedAt = new Date().toISOString();
  try {
    await command(d.shimPath, ["run", dir], undefined, 30_000);
  } catch (err) {
    const detail = err instanceof CommandError ? err.stderr : String(err);
    // The run failed before the command ran: it is over, as the engines report it.
    await writeFile(join(dir, "exit"), `127 0 ${new Date().toISOString()}\n`);
    await d.store.save({ ...record, startedAt });
    throw new RuntimeError("FAILED", `start ${record.name}: ${detail || "the shim failed"}`, { detail });
  }
  await d.store.save({ ...record, startedAt });
}
