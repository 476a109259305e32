import { execFile } from "node:child_process";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { BerthError, type Logger } from "@berth/core";
import { LOCAL_VM_FILES, localVmDir } from "@berth/core/local-vm";
import { diskSerialOf } from "@berth/protocol";
import type { DiskProvider, DiskRef } from "../types";
import { Qmp, QmpError } from "./qmp";

const run = promisify(execFile);
const ID = /^[a-z]{1,8}_[0-9a-z]{1,40}$/;

const unavailable = (message: string, cause?: unknown) =>
  new BerthError("UNAVAILABLE", `local-vm: ${message}`, { retryable: true, cause });

/** How long the guest may take to let go of an unplugged disk (ACPI eject, under TCG). */
const UNPLUG_MS = 15_000;

/**
 * PersistentVolumeClaims' disks on a local-vm host: one qcow2 file per claim under
 * `<dir>/disks/<clusterId>/<claimId>.qcow2`, hot-plugged into a running VM through its QMP socket
 * (`blockdev-add` + `device_add virtio-blk-pci` with the claim's serial) and unplugged
 * (`device_del`, then `blockdev-del` once the guest let go). QEMU's own image locks make sure two
 * VMs never open one file for writing: ReadWriteOnce holds even if the database were wrong.
 */
export function createLocalVmDisks(opts: { dir: string; qemuImg: string; logger: Logger }): DiskProvider {
  const clusterDir = (clusterId: string) => {
    if (!ID.test(clusterId))
      throw new BerthError("VALIDATION_FAILED", `local-vm: bad cluster id ${clusterId}`);
    return join(opts.dir, "disks", clusterId);
  };
  const fileOf = (d: DiskRef) => {
    if (!ID.test(d.claimId)) throw new BerthError("VALIDATION_FAILED", `local-vm: bad claim id ${d.claimId}`);
    return join(clusterDir(d.clusterId), `${d.claimId}.qcow2`);
  };
  const nodeName = (d: DiskRef) => `pvc-${diskSerialOf(d.claimId)}`;

  async function withQmp<T>(instanceId: string, use: (q: Qmp) => Promise<T>): Promise<T | null> {
    const vm = localVmDir(opts.dir, instanceId);
    if (!vm) throw new BerthError("VALIDATION_FAILED", `local-vm: bad instance id ${instanceId}`);
    let qmp: Qmp;
    try {
      qmp = await Qmp.connect(join(vm, LOCAL_VM_FILES.qmp));
    } catch {
      return null; // nothing listens: the VM is gone
    }
    try {
      return await use(qmp);
    } finally {
      qmp.close();
    }
  }

  const deviceExists = async (q: Qmp, id: string) => {
    const list = (await q.execute("qom-list", { path: "/machine/peripheral" })) as { name: string }[];
    return list.some((p) => p.name === id);
  };
  const blockNodeExists = async (q: Qmp, name: string) => {
    const list = (await q.execute("query-named-block-nodes", { flat: true })) as { "node-name": string }[];
    return list.some((n) => n["node-name"] === name);
  };

  return {
    async ensure(d, sizeBytes) {
      const file = fileOf(d);
      if (
        await stat(file).then(
          () => true,
          () => false,
        )
      )
        return;
      await mkdir(clusterDir(d.clusterId), { recursive: true, mode: 0o700 });
      const partial = `${file}.creating`;
      await rm(partial, { force: true });
      await run(opts.qemuImg, ["create", "-q", "-f", "qcow2", partial, String(sizeBytes)]);
      await rename(partial, file);
      opts.logger.info({ claimId: d.claimId, sizeBytes }, "local-vm: disk made");
    },

    async attach(instanceId, d) {
      const file = fileOf(d);
      if (
        !(await stat(file).then(
          () => true,
          () => false,
        ))
      )
        throw unavailable(`the disk of claim ${d.claimId} is missing`);
      const name = nodeName(d);
      const done = await withQmp(instanceId, async (q) => {
        if (!(await blockNodeExists(q, name)))
          await q.execute("blockdev-add", {
            driver: "qcow2",
            "node-name": name,
            file: { driver: "file", filename: file },
          });
        if (!(await deviceExists(q, name)))
          await q.execute("device_add", {
            driver: "virtio-blk-pci",
            id: name,
            drive: name,
            serial: diskSerialOf(d.claimId),
          });
        return true;
      }).catch((error: unknown) => {
        throw unavailable(
          `could not attach the disk of claim ${d.claimId} to ${instanceId}: ${(error as Error).message}`,
          error,
        );
      });
      if (!done) throw unavailable(`VM ${instanceId} does not answer on its QMP socket`);
    },

    async detach(instanceId, d) {
      const name = nodeName(d);
      await withQmp(instanceId, async (q) => {
        if (await deviceExists(q, name)) {
          await q.execute("device_del", { id: name }).catch((e: unknown) => {
            // Asked before (an unplug in progress): wait for it as for this one.
            if (!(e instanceof QmpError && /in the process of unplug/i.test(e.desc))) throw e;
          });
          const deadline = Date.now() + UNPLUG_MS;
          while ((await deviceExists(q, name)) && Date.now() < deadline)
            await new Promise((r) => setTimeout(r, 200));
          if (await deviceExists(q, name))
            throw unavailable(`VM ${instanceId} has not released the disk ${name} yet`);
        }
        if (await blockNodeExists(q, name)) await q.execute("blockdev-del", { "node-name": name });
      });
    },

    async remove(d) {
      await rm(fileOf(d), { force: true });
    },

    async removeCluster(clusterId) {
      await rm(clusterDir(clusterId), { recursive: true, force: true });
    },
  };
}
