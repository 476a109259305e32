import type { ContainerTemplate } from "@berth/protocol";
import type { ImageConfig } from "../runtime";

/** The user of containers that name none and whose image would run them as root. */
export const DEFAULT_NON_ROOT_UID = 65534;

/** Why a container cannot be run as asked (Kubernetes' CreateContainerConfigError). */
export class ContainerConfigError extends Error {}

/**
 * The `uid[:gid]` a container runs as. Its `runAsUser` (the pod's, inherited at admission), else
 * the image's own user if it is a non-root uid, else 65534 (nobody:nogroup). As kubelet does under
 * `runAsNonRoot` (which Pod Security "restricted" always sets), an image whose user is a name
 * cannot be checked to be non-root and is refused, and uid 0 is never run.
 */
export function containerUser(t: ContainerTemplate, image: ImageConfig, podName: string): string {
  const s = t.securityContext;
  const [imageUser = "", imageGroup] = image.user.split(":");
  let uid = s.runAsUser;
  let gid = s.runAsGroup;
  if (uid === undefined) {
    if (imageUser === "" || imageUser === "root" || imageUser === "0") {
      uid = DEFAULT_NON_ROOT_UID;
      gid ??= DEFAULT_NON_ROOT_UID;
    } else if (/^\d+$/.test(imageUser)) {
      uid = Number(imageUser);
      if (gid === undefined && imageGroup !== undefined && /^\d+$/.test(imageGroup)) gid = Number(imageGroup);
    } else
      throw new ContainerConfigError(
        `container has runAsNonRoot and image has non-numeric user (${imageUser}), cannot verify user is non-root (pod: "${podName}", container: ${t.name})`,
      );
  }
  if (uid === 0)
    throw new ContainerConfigError(
      `container has runAsNonRoot and image will run as root (pod: "${podName}", container: ${t.name})`,
    );
  return gid === undefined ? String(uid) : `${uid}:${gid}`;
}

/** Capabilities a container keeps: only NET_BIND_SERVICE may be asked for; the rest are dropped. */
export function keptCapabilities(t: ContainerTemplate): string[] {
  return t.securityContext.capabilitiesAdd
    .map((c) => c.toUpperCase().replace(/^CAP_/, ""))
    .filter((c) => c === "NET_BIND_SERVICE")
    .slice(0, 1);
}
