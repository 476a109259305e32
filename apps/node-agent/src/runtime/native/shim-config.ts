/**
 * What the shim is told about a container (`<dir>/config`, NUL-terminated tokens: a key, then its
 * values): its root, namespaces to join, user, capabilities, mounts, cgroups, argv and
 * environment, resolved from the spec and the image's config as the Engine API would.
 */
import { lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ContainerSpec } from "../types";
import type { CgroupPaths } from "./cgroups";
import type { ImageRuntimeConfig } from "./image-store";
import { direct } from "./unpack";

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Capability numbers of linux/capability.h, by the names a spec uses. */
const CAPS: Record<string, number> = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  DAC_READ_SEARCH: 2,
  FOWNER: 3,
  FSETID: 4,
  KILL: 5,
  SETGID: 6,
  SETUID: 7,
  SETPCAP: 8,
  LINUX_IMMUTABLE: 9,
  NET_BIND_SERVICE: 10,
  NET_BROADCAST: 11,
  NET_ADMIN: 12,
  NET_RAW: 13,
  IPC_LOCK: 14,
  IPC_OWNER: 15,
  SYS_MODULE: 16,
  SYS_RAWIO: 17,
  SYS_CHROOT: 18,
  SYS_PTRACE: 19,
  SYS_PACCT: 20,
  SYS_ADMIN: 21,
  SYS_BOOT: 22,
  SYS_NICE: 23,
  SYS_RESOURCE: 24,
  SYS_TIME: 25,
  SYS_TTY_CONFIG: 26,
  MKNOD: 27,
  LEASE: 28,
  AUDIT_WRITE: 29,
  AUDIT_CONTROL: 30,
  SETFCAP: 31,
};

export function capabilityNumber(name: string): number {
  const n = CAPS[name.toUpperCase().replace(/^CAP_/, "")];
  if (n === undefined) throw new Error(`unknown capability ${name}`);
  return n;
}

/** Kubernetes semantics: command replaces the entrypoint (and drops CMD), args replace CMD. */
export function resolveArgv(spec: ContainerSpec, image: ImageRuntimeConfig): string[] {
  const command = spec.command && spec.command.length > 0 ? spec.command : null;
  const args = spec.args && spec.args.length > 0 ? spec.args : null;
  if (command) return [...command, ...(args ?? [])];
  return [...(image.Entrypoint ?? []), ...(args ?? image.Cmd ?? [])];
}

/** The line of `etc/passwd` or `etc/group` of the image naming `name`; read only inside the image. */
function lookup(rootfs: string, rel: string, name: string): string[] | null {
  if (!direct(rootfs, rel)) return null;
  try {
    const file = join(rootfs, rel);
    if (!lstatSync(file).isFile()) return null;
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const fields = line.split(":");
      if (fields[0] === name || fields[2] === name) return fields;
    }
  } catch {
    // no such file in the image: numeric ids only
  }
  return null;
}

/** `uid[:gid]` (names looked up in the image's /etc/passwd and /etc/group), with the user's home. */
export function resolveUser(user: string, rootfs: string): { uid: number; gid: number; home: string } {
  const [u = "", g] = user.split(":");
  const pw = lookup(rootfs, "etc/passwd", u);
  const uid = /^\d+$/.test(u) ? Number(u) : Number(pw?.[2] ?? Number.NaN);
  if (!Number.isInteger(uid)) throw new Error(`user ${JSON.stringify(u)} is not in the image`);
  let gid = pw ? Number(pw[3]) : uid === 0 ? 0 : uid;
  if (g !== undefined && g !== "") {
    gid = /^\d+$/.test(g) ? Number(g) : Number(lookup(rootfs, "etc/group", g)?.[2] ?? Number.NaN);
    if (!Number.isInteger(gid)) throw new Error(`group ${JSON.stringify(g)} is not in the image`);
  }
  return { uid, gid, home: pw?.[5] || "/" };
}

export interface ShimInputs {
  spec: ContainerSpec;
  image: ImageRuntimeConfig;
  rootfs: string;
  dir: string;
  defaultUser: string;
  logMaxBytes: number;
  cgroups: CgroupPaths;
  netns: string | null;
  /** Set from inside the (own) network namespace: eth0's address and the default route. */
  addressing: { cidr: string; gateway: string } | null;
  utsns: string | null;
  hostname: string;
  /** The files bound at /etc/resolv.conf, /etc/hostname, /etc/hosts. */
  etc: { resolv: string; hostname: string; hosts: string };
}

export function shimConfig(x: ShimInputs): Buffer {
  const t: string[] = [];
  const put = (key: string, ...values: (string | number)[]) => t.push(key, ...values.map(String));
  put("lower", x.rootfs);
  put("upper", join(x.dir, "upper"));
  put("work", join(x.dir, "work"));
  put("merged", join(x.dir, "merged"));
  put("log", join(x.dir, "log"));
  put("logmax", x.logMaxBytes);
  put("exit", join(x.dir, "exit"));
  put("pidfile", join(x.dir, "pid"));
  put("oomfile", x.cgroups.oomFile);
  if (x.netns) put("netns", x.netns);
  if (x.addressing) {
    put("ifaddr", x.addressing.cidr);
    put("gateway", x.addressing.gateway);
  }
  if (x.utsns) put("utsns", x.utsns);
  else put("hostname", x.hostname);
  const user = resolveUser(x.spec.user ?? (x.image.User || x.defaultUser), x.rootfs);
  put("uid", user.uid);
  put("gid", user.gid);
  for (const g of x.spec.groups ?? []) put("group", g);
  for (const c of x.spec.capabilities ?? []) put("cap", capabilityNumber(c));
  if (x.spec.readOnlyRootFilesystem) put("readonly", 1);
  put("cwd", x.spec.workingDir || x.image.WorkingDir || "/");
  for (const dir of x.cgroups.dirs) put("cgroup", dir);
  for (const b of x.cgroups.binds) put("cgbind", b.source, b.target);
  put("bind", x.etc.resolv, "/etc/resolv.conf", "ro");
  put("bind", x.etc.hostname, "/etc/hostname", "ro");
  put("bind", x.etc.hosts, "/etc/hosts", "ro");
  for (const m of x.spec.mounts ?? []) {
    if (m.type === "bind") put("bind", m.source, m.target, m.readOnly ? "ro" : "rw");
    else put("tmpfs", m.target, m.sizeBytes ?? 0, (m.mode ?? 0o1777).toString(8));
  }
  const argv = resolveArgv(x.spec, x.image);
  if (argv.length === 0) throw new Error("neither the spec nor the image gives a command");
  for (const a of argv) put("arg", a);
  for (const e of environment(x.spec, x.image, x.hostname, user.home)) put("env", e);
  for (const v of t) if (v.includes("\0")) throw new Error("a NUL byte in the container's configuration");
  return Buffer.from(`${t.join("\0")}\0`, "utf8");
}

/** The image's Env, then the spec's on top; PATH, HOSTNAME and HOME when neither sets them. */
export function environment(
  spec: ContainerSpec,
  image: ImageRuntimeConfig,
  hostname: string,
  home: string,
): string[] {
  const env = new Map<string, string>();
  env.set("PATH", DEFAULT_PATH);
  env.set("HOSTNAME", hostname);
  for (const e of image.Env ?? []) {
    const i = e.indexOf("=");
    if (i > 0) env.set(e.slice(0, i), e.slice(i + 1));
  }
  for (const [k, v] of Object.entries(spec.env)) env.set(k, v);
  if (!env.has("HOME")) env.set("HOME", home);
  return [...env].map(([k, v]) => `${k}=${v}`);
}
