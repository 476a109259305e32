import type { PodReason } from "@berth/protocol";
import { isRuntimeError } from "./runtime";

/**
 * Why a pod's containers could not run, said in a closed vocabulary with fixed phrases: what the
 * tenant sees. The runtime's own words (which may tell what answered on the node's network) go to
 * `detail`, for the node's log only.
 */
export class PodFailure extends Error {
  constructor(
    readonly reason: PodReason,
    message: string,
    readonly detail: string,
  ) {
    super(message);
    this.name = "PodFailure";
  }
}

const detailOf = (error: unknown): string =>
  isRuntimeError(error) ? [error.message, error.detail].filter(Boolean).join(": ") : String(error);

export function pullFailure(image: string, error: unknown, attempt: number): PodFailure {
  return new PodFailure(
    attempt > 1 ? "ImagePullBackOff" : "ErrImagePull",
    `could not pull image ${JSON.stringify(image)}: not found or not reachable`,
    detailOf(error),
  );
}

export function createFailure(container: string, error: unknown): PodFailure {
  return new PodFailure(
    "CreateContainerError",
    `could not create container ${JSON.stringify(container)}`,
    detailOf(error),
  );
}

/** A start that failed; a host port in use is worth saying (the port is the pod's own). */
export function startFailure(container: string, hostPorts: readonly number[], error: unknown): PodFailure {
  const detail = detailOf(error);
  const inUse = /address already in use|port is already allocated/i.test(detail);
  return new PodFailure(
    "RunContainerError",
    inUse
      ? `could not start container ${JSON.stringify(container)}: host port ${hostPorts.join(", ")} is in use on the node`
      : `could not start container ${JSON.stringify(container)}`,
    detail,
  );
}

/**
 * The pod's sandbox could not be made (kubelet's FailedCreatePodSandBox): the pod waits
 * ContainerCreating. A host port in use is worth saying (the ports are the pod's own).
 */
export function sandboxFailure(hostPorts: readonly number[], error: unknown): PodFailure {
  const detail = detailOf(error);
  const inUse = /address already in use|port is already allocated/i.test(detail);
  const pulled = isRuntimeError(error, "IMAGE_NOT_FOUND");
  return new PodFailure(
    "ContainerCreating",
    inUse
      ? `Failed to create pod sandbox: host port ${hostPorts.join(", ")} is in use on the node`
      : pulled
        ? "Failed to create pod sandbox: the sandbox image is not on the node"
        : "Failed to create pod sandbox",
    detail,
  );
}

export function crashLoop(container: string, exitCode: number | null, waitMs: number): PodFailure {
  return new PodFailure(
    "CrashLoopBackOff",
    `back-off ${Math.ceil(waitMs / 1000)}s restarting failed container ${JSON.stringify(container)} (exit code ${exitCode ?? "unknown"})`,
    "",
  );
}

/** Restart back-off, as Kubernetes' CrashLoopBackOff: the first restart is immediate, then 1 s, 2 s, … up to 60 s. */
export function restartDelayMs(restarts: number): number {
  return restarts === 0 ? 0 : Math.min(1000 * 2 ** (restarts - 1), 60_000);
}

/** Pull back-off, as kubelet's: 10 s, 20 s, … up to 5 minutes. */
export function pullDelayMs(failures: number): number {
  return Math.min(10_000 * 2 ** Math.max(0, failures - 1), 300_000);
}

/** Back-off after a container could not be created or started: 1 s, 2 s, … up to 60 s. */
export function retryDelayMs(attempts: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attempts - 1), 60_000);
}
