import { execFile, spawn } from "node:child_process";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The guest image infra/guest/build.sh makes. */
export interface GuestImage {
  kernel: string;
  initrd: string;
  rootDisk: string;
}

export function guestImage(imageDir: string): GuestImage {
  return {
    kernel: join(imageDir, "vmlinuz"),
    initrd: join(imageDir, "initrd.gz"),
    rootDisk: join(imageDir, "root.ext4"),
  };
}

export type Accel = "kvm" | "tcg";

export interface VmLaunch {
  qemu: string;
  accel: Accel;
  /** QEMU's -name: how a pid is known to be this VM's (pids are reused). */
  name: string;
  image: GuestImage;
  vcpus: number;
  memoryMiB: number;
  configDisk: string;
  scratchDisk: string;
  pidFile: string;
  consoleFile: string;
  /** QEMU's QMP socket (PersistentVolumeClaims' disks are hot-plugged through it). */
  qmpSocket: string;
  /** Host ports forwarded from 127.0.0.1:port to the guest's same port. */
  ports: { min: number; max: number };
}

/** The command line of a VM: detached (-daemonize), serial console to a file, user-mode network. */
export function qemuArgs(l: VmLaunch): string[] {
  const forwards = [];
  for (let p = l.ports.min; p <= l.ports.max; p++) forwards.push(`hostfwd=tcp:127.0.0.1:${p}-:${p}`);
  const disk = (file: string, id: string, readonly: boolean) => [
    "-drive",
    `file=${file},format=raw,if=none,id=${id}${readonly ? ",readonly=on" : ""}`,
    "-device",
    `virtio-blk-pci,drive=${id}`,
  ];
  return [
    "-name",
    l.name,
    "-accel",
    // TCG's translation cache defaults to 1 GiB, and fills with what Node's JIT writes: bounded here.
    l.accel === "tcg" ? "tcg,tb-size=128" : "kvm",
    ...(l.accel === "kvm" ? ["-cpu", "host"] : []),
    "-m",
    String(l.memoryMiB),
    "-smp",
    String(l.vcpus),
    "-display",
    "none",
    "-monitor",
    "none",
    "-qmp",
    `unix:${l.qmpSocket},server=on,wait=off`,
    "-serial",
    `file:${l.consoleFile}`,
    "-no-reboot",
    "-kernel",
    l.image.kernel,
    "-initrd",
    l.image.initrd,
    "-append",
    "console=ttyS0 panic=-1 quiet",
    "-netdev",
    ["user", "id=n0", ...forwards].join(","),
    "-device",
    "virtio-net-pci,netdev=n0",
    // The init script expects them in this order: vda image, vdb config, vdc scratch.
    ...disk(l.image.rootDisk, "d0", true),
    ...disk(l.configDisk, "d1", true),
    ...disk(l.scratchDisk, "d2", false),
    "-pidfile",
    l.pidFile,
    "-daemonize",
  ];
}

/** Starts QEMU in the background: it outlives this process (its own session), its pid in the pid file. */
export async function startQemu(l: VmLaunch): Promise<number> {
  try {
    await run(l.qemu, qemuArgs(l), { timeout: 30_000 });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`qemu did not start: ${(e.stderr || e.message).trim()}`);
  }
  return Number((await readFile(l.pidFile, "utf8")).trim());
}

/** Whether `pid` is the QEMU named `name` (and not a later process that got its pid). */
export async function isQemuOf(pid: number, name: string): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  const args = cmdline.split("\0");
  const at = args.indexOf("-name");
  if (at < 0 || args[at + 1] !== name) return false;
  // A zombie (killed, not yet reaped by its parent) is gone for our purposes.
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return !/^\d+ \(.*\) Z /.test(stat);
}

/**
 * KVM only when a short boot under it reaches the guest's userspace: `/dev/kvm` existing proves
 * nothing (a nested PVM here hangs stock kernels). The answer is kept in `cacheFile`, keyed by
 * the kernel and QEMU's version, so it is asked once per host and image.
 */
export async function chooseAccel(opts: {
  qemu: string;
  image: GuestImage;
  cacheFile: string;
  probeMs: number;
}): Promise<{ accel: Accel; probedMs: number | null }> {
  const version = await run(opts.qemu, ["--version"]).then((r) => r.stdout.split("\n")[0] ?? "");
  const kernel = await readFile(opts.image.kernel).then((b) => b.byteLength);
  const key = `${version}|${opts.image.kernel}|${kernel}`;
  const cached = await readFile(opts.cacheFile, "utf8")
    .then((t) => JSON.parse(t) as { key: string; accel: Accel })
    .catch(() => null);
  if (cached?.key === key) return { accel: cached.accel, probedMs: null };
  const started = Date.now();
  const ok = await probeKvm(opts);
  const accel: Accel = ok ? "kvm" : "tcg";
  await writeFile(opts.cacheFile, `${JSON.stringify({ key, accel, probedAt: new Date().toISOString() })}\n`);
  return { accel, probedMs: Date.now() - started };
}

async function probeKvm(opts: { qemu: string; image: GuestImage; probeMs: number }): Promise<boolean> {
  const kvm = await stat("/dev/kvm").then(
    () => true,
    () => false,
  );
  if (!kvm) return false;
  const child = spawn(
    opts.qemu,
    [
      "-accel",
      "kvm",
      "-cpu",
      "host",
      "-m",
      "256",
      "-display",
      "none",
      "-monitor",
      "none",
      "-serial",
      "stdio",
      "-no-reboot",
      "-kernel",
      opts.image.kernel,
      "-initrd",
      opts.image.initrd,
      "-append",
      "console=ttyS0 panic=-1 quiet berth.probe",
    ],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  return new Promise<boolean>((resolve) => {
    let out = "";
    const done = (ok: boolean) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), opts.probeMs);
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("BERTH-PROBE-OK")) done(true);
    });
    child.on("error", () => done(false));
    child.on("exit", () => done(out.includes("BERTH-PROBE-OK")));
  });
}
