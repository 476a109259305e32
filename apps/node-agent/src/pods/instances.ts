import { CONTAINER_LABELS } from "@berth/protocol";
import type { ContainerInfo } from "../runtime";

/**
 * A pod's container runs as a series of engine containers ("instances"): each restart is a new
 * one, labelled with how many ran before it (Kubernetes' restartCount), so that a restarted
 * container starts from its image again and the one before it stays, exited, for its last state
 * (and its logs) — as kubelet keeps the last dead container.
 */
export interface Instances {
  /** The newest instance, if any. */
  current: ContainerInfo | null;
  /** The one before it, if kept. */
  previous: ContainerInfo | null;
  /** Older ones, to remove. */
  older: ContainerInfo[];
}

export function restartCountOf(c: ContainerInfo): number {
  const n = Number(c.labels[CONTAINER_LABELS.restartCount] ?? "0");
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/** The instances of one container (by its name in the pod), newest first. */
export function instancesOf(containers: readonly ContainerInfo[], name: string): Instances {
  const mine = containers
    .filter((c) => c.labels[CONTAINER_LABELS.container] === name)
    .sort((a, b) => restartCountOf(b) - restartCountOf(a));
  return { current: mine[0] ?? null, previous: mine[1] ?? null, older: mine.slice(2) };
}

/** The engine name of a container instance: the first keeps the name agents always gave it. */
export function instanceName(podId: string, container: string, restartCount: number): string {
  return restartCount === 0 ? `berth-${podId}-${container}` : `berth-${podId}-${container}-r${restartCount}`;
}

export const isRunning = (c: ContainerInfo | null): boolean => c?.state === "running";
export const hasEnded = (c: ContainerInfo | null): boolean => c?.state === "exited" || c?.state === "dead";
