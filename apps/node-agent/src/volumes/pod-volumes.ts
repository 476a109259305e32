/**
 * A pod's volumes on the node, under `<podsDir>/<podId>/volumes/<name>`, made as kubelet makes them:
 *
 * - `emptyDir`: a directory on the node's disk (mode 0777), or with `medium: Memory` a tmpfs of
 *   `sizeLimit` (else the pod's memory limit), whose pages count against the memory of the
 *   container that writes them;
 * - `configMap`: the files on disk, written atomically (`..data` swap) and rewritten in place when
 *   the values change, without restarting anything;
 * - `secret`: the same on a tmpfs the agent mounts for the pod, so secret values never reach the
 *   node's disk. (The engine's own tmpfs mounts would not do: they are per container, empty at
 *   every start, and the agent could not write or update files in them.)
 *
 * With an `fsGroup`, volumes belong to that group (setgid directories, group-readable files).
 * Containers get bind mounts: ConfigMaps and Secrets always read-only, emptyDirs as asked, a
 * `subPath` of an emptyDir pinned safely (subpath.ts). Everything goes when the pod does.
 * - `persistentVolumeClaim`: the claim's disk, once attached to the node, mounted here
 *   (claim-disk.ts); the pod waits (FailedMount) until it is.
 */
import { createHash } from "node:crypto";
import { chmod, chown, mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Assignment, ContainerTemplate } from "@berth/protocol";
import type { Mount } from "../runtime";
import { isSafeVolumePath, type VolumeFileData, writeAtomically } from "./atomic-writer";
import { awaitDisk, mountClaimDisk } from "./claim-disk";
import { mountsUnder, mountTmpfs, unmount } from "./mounts";
import { pinSubPath } from "./subpath";

interface Prepared {
  type: "emptyDir" | "configMap" | "secret" | "persistentVolumeClaim";
  dir: string;
  /** A claim's volume mounted read-only in every container. */
  readOnly?: boolean;
}

/** A volume could not be set up (Kubernetes' FailedMount). */
export class VolumeError extends Error {}

const MiB = 1024 * 1024;
/** How long a pod's setup waits for its claim's disk to appear before it is retried later. */
const DISK_WAIT_MS = 5_000;
const POD_ID = /^[a-z]{1,8}_[0-9a-z_]{1,54}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export class PodVolumes {
  private readonly prepared = new Map<string, { digest: string; volumes: Map<string, Prepared> }>();
  /** What was mounted for each pod since last asked (Kubernetes' SuccessfulMountVolume events). */
  private readonly mounted = new Map<string, string[]>();

  constructor(private readonly podsDir: string) {}

  podDir(podId: string): string {
    // Ids only: an assignment's pod id becomes a path on the node.
    if (!POD_ID.test(podId)) throw new VolumeError(`invalid pod id ${JSON.stringify(podId)}`);
    return join(this.podsDir, podId);
  }

  /** Makes the pod's volumes, or brings their files up to date; nothing when nothing changed. */
  async prepare(a: Assignment): Promise<Map<string, Prepared>> {
    const digest = digestOf(a);
    const known = this.prepared.get(a.podId);
    if (known?.digest === digest) return known.volumes;
    const fsGroup = a.containers[0]?.securityContext.fsGroup;
    const volumes = new Map<string, Prepared>();
    for (const v of a.volumes) {
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v.name))
        throw new VolumeError(`invalid volume name ${v.name}`);
      const dir = join(this.podDir(a.podId), "volumes", v.name);
      await mkdir(dir, { recursive: true, mode: 0o755 });
      try {
        if (v.type === "emptyDir") {
          if (v.medium === "Memory") {
            const podMemory = a.containers.reduce((n, c) => n + c.limits.memoryBytes, 0);
            await mountTmpfs(dir, v.sizeLimitBytes ?? Math.max(podMemory, MiB), 0o777);
          }
          await ownDir(dir, 0o777, fsGroup);
        } else if (v.type === "persistentVolumeClaim") {
          const device = await awaitDisk(v.serial, DISK_WAIT_MS);
          if (!device)
            throw new Error(`waiting for the disk of claim ${v.claimId} (serial ${v.serial}) to be attached`);
          const m = await mountClaimDisk(device, dir);
          if (m.mounted)
            this.mounted.set(a.podId, [
              ...(this.mounted.get(a.podId) ?? []),
              `MountVolume.SetUp succeeded for volume ${JSON.stringify(v.name)} (claim disk ${device}${m.formatted ? ", formatted ext4" : ""})`,
            ]);
          await ownDir(dir, 0o777, fsGroup);
        } else {
          const files = filesOf(v.files);
          if (v.type === "secret") {
            const total = files.reduce((n, f) => n + f.data.length, 0);
            await mountTmpfs(dir, 2 * total + MiB, 0o755);
          }
          await ownDir(dir, 0o755, fsGroup);
          await writeAtomically(dir, files, fsGroup);
        }
      } catch (error) {
        throw new VolumeError(
          `MountVolume.SetUp failed for volume ${JSON.stringify(v.name)} : ${(error as Error).message}`,
        );
      }
      volumes.set(v.name, {
        type: v.type,
        dir,
        ...(v.type === "persistentVolumeClaim" && v.readOnly ? { readOnly: true } : {}),
      });
    }
    this.prepared.set(a.podId, { digest, volumes });
    return volumes;
  }

  /** The mounts made for a pod since the last call (each told once). */
  takeMounted(podId: string): string[] {
    const out = this.mounted.get(podId) ?? [];
    this.mounted.delete(podId);
    return out;
  }

  /** The container's mounts of the pod's (prepared) volumes. */
  async mountsFor(a: Assignment, t: ContainerTemplate, volumes: Map<string, Prepared>): Promise<Mount[]> {
    const mounts: Mount[] = [];
    if (!DNS_LABEL.test(t.name)) throw new VolumeError(`invalid container name ${JSON.stringify(t.name)}`);
    for (const [i, m] of t.volumeMounts.entries()) {
      const v = volumes.get(m.name);
      if (!v) throw new VolumeError(`volume ${JSON.stringify(m.name)} of container ${t.name} is not defined`);
      if (!m.mountPath.startsWith("/") || m.mountPath.split("/").includes(".."))
        throw new VolumeError(`invalid mountPath ${JSON.stringify(m.mountPath)}`);
      if (m.subPath !== undefined && !isSafeVolumePath(m.subPath))
        throw new VolumeError(`invalid subPath ${JSON.stringify(m.subPath)}`);
      let source = v.dir;
      if (m.subPath !== undefined)
        source =
          v.type === "emptyDir" || v.type === "persistentVolumeClaim"
            ? await pinSubPath(
                v.dir,
                m.subPath,
                join(this.podDir(a.podId), "volume-subpaths", m.name, t.name, String(i)),
                0o777,
              ).catch((e: Error) => {
                throw new VolumeError(
                  `failed to prepare subPath for volumeMount ${JSON.stringify(m.name)} of container ${JSON.stringify(t.name)}: ${e.message}`,
                );
              })
            : join(v.dir, m.subPath);
      mounts.push({
        type: "bind",
        source,
        target: m.mountPath,
        readOnly:
          v.type === "emptyDir" || v.type === "persistentVolumeClaim"
            ? m.readOnly || v.readOnly === true
            : true,
      });
    }
    return mounts;
  }

  /** Unmounts and removes everything of the pod on the node. */
  async teardown(podId: string): Promise<void> {
    this.prepared.delete(podId);
    this.mounted.delete(podId);
    const dir = this.podDir(podId);
    for (const point of await mountsUnder(dir)) await unmount(point);
    if ((await mountsUnder(dir)).length > 0)
      throw new VolumeError(`volumes of pod ${podId} are still mounted`);
    await rm(dir, { recursive: true, force: true });
  }

  /** Pods that have a directory on the node. */
  async podsOnDisk(): Promise<string[]> {
    const entries = await readdir(this.podsDir, { withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => e.isDirectory() && /^[a-z]{1,8}_[0-9a-z_]+$/.test(e.name))
      .map((e) => e.name);
  }
}

function filesOf(files: readonly { path: string; data: string; mode: number }[]): VolumeFileData[] {
  const byPath = new Map<string, VolumeFileData>();
  for (const f of files) {
    if (!isSafeVolumePath(f.path)) throw new Error(`invalid file path ${JSON.stringify(f.path)}`);
    byPath.set(f.path, { path: f.path, data: Buffer.from(f.data, "base64"), mode: f.mode & 0o777 });
  }
  return [...byPath.values()];
}

async function ownDir(dir: string, mode: number, fsGroup: number | undefined): Promise<void> {
  if (fsGroup !== undefined) await chown(dir, 0, fsGroup);
  await chmod(dir, fsGroup !== undefined ? mode | 0o2000 : mode);
}

/** What the volumes are made of: equal digests, nothing to redo. */
function digestOf(a: Assignment): string {
  return createHash("sha256")
    .update(JSON.stringify([a.volumes, a.containers[0]?.securityContext.fsGroup ?? null]))
    .digest("base64url");
}
