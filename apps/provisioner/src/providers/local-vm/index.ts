import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "@berth/core";
import type { Env } from "../../env";
import type { MachineProvider } from "../types";
import { createLocalVmProvider } from "./provider";

export { createLocalVmProvider, type LocalVmOptions, vmSize } from "./provider";

/** The control API's URL as a guest reaches it: user-mode networking shows the host's loopback as 10.0.2.2. */
export function guestApiUrl(apiUrl: string): string {
  const u = new URL(apiUrl);
  if (["127.0.0.1", "localhost", "[::1]"].includes(u.hostname)) u.hostname = "10.0.2.2";
  return u.toString().replace(/\/$/, "");
}

const QEMU = "qemu-system-x86_64";

function installed(command: string): boolean {
  try {
    execFileSync(command, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The local-vm provider the environment asks for (auto: when the guest image and QEMU are there), or null. */
export function localVmFromEnv(env: Env, logger: Logger): MachineProvider | null {
  if (env.LOCAL_VM_PROVIDER === "off") return null;
  const ready = existsSync(join(env.LOCAL_VM_IMAGE_DIR, "image.json")) && installed(QEMU);
  if (!ready) {
    const why = `no guest image in ${env.LOCAL_VM_IMAGE_DIR} (infra/guest/build.sh) or no ${QEMU}`;
    if (env.LOCAL_VM_PROVIDER === "on") throw new Error(`LOCAL_VM_PROVIDER=on but ${why}`);
    logger.info(`the local-vm provider is off: ${why}`);
    return null;
  }
  return createLocalVmProvider({
    dir: env.LOCAL_VM_DIR,
    imageDir: env.LOCAL_VM_IMAGE_DIR,
    guestApiUrl: env.LOCAL_VM_API_URL ?? guestApiUrl(env.BERTH_API_URL),
    registry: env.REGISTRY_HOST,
    ports: { base: env.LOCAL_VM_PORT_BASE, size: env.LOCAL_VM_PORTS_PER_VM, slots: env.LOCAL_VM_MAX_VMS },
    maxMemoryMiB: env.LOCAL_VM_MAX_MEMORY_MIB,
    scratchDiskGiB: env.LOCAL_VM_SCRATCH_GIB,
    accel: env.LOCAL_VM_ACCEL,
    accelCacheFile: join(env.LOCAL_VM_DIR, "accel.json"),
    qemu: QEMU,
    zone: env.LOCAL_VM_ZONE,
    logger,
  });
}
