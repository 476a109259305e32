import type { Logger } from "@berth/core";
import { CONTAINER_LABELS } from "@berth/protocol";
import { isSandbox } from "./pods/sandbox";
import type { ContainerInfo, ContainerRuntime } from "./runtime";

/**
 * Stops and removes containers, a few at a time; one that will not go is logged, not fatal. Pods'
 * sandboxes go last: the engine keeps one while a container joined to it exists.
 */
export async function removeContainers(
  runtime: ContainerRuntime,
  all: readonly ContainerInfo[],
  logger: Logger,
  stopTimeoutSeconds = 5,
): Promise<number> {
  const sandboxes = all.filter(isSandbox);
  const others = all.filter((c) => !isSandbox(c));
  return (
    (await removeEach(runtime, others, logger, stopTimeoutSeconds)) +
    (await removeEach(runtime, sandboxes, logger, stopTimeoutSeconds))
  );
}

async function removeEach(
  runtime: ContainerRuntime,
  containers: readonly ContainerInfo[],
  logger: Logger,
  stopTimeoutSeconds: number,
): Promise<number> {
  let removed = 0;
  let next = 0;
  const worker = async () => {
    while (next < containers.length) {
      const c = containers[next++] as ContainerInfo;
      try {
        await runtime.stop(c.id, stopTimeoutSeconds);
        await runtime.remove(c.id);
        removed++;
      } catch (error) {
        logger.warn({ container: c.name, err: (error as Error).message }, "could not remove a container");
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, containers.length) }, worker));
  return removed;
}

/**
 * Containers this installation started for a node identity it no longer has (it left a cluster,
 * joined again, lost its credential while down): their pods run elsewhere by now, and they hold
 * host ports. Containers of other installations sharing the engine are never touched.
 */
export async function removeStaleContainers(
  runtime: ContainerRuntime,
  installationId: string,
  nodeId: string,
  logger: Logger,
): Promise<number> {
  const mine = await runtime.list({ [CONTAINER_LABELS.installation]: installationId });
  const stale = mine.filter((c) => c.labels[CONTAINER_LABELS.node] !== nodeId);
  if (stale.length === 0) return 0;
  const removed = await removeContainers(runtime, stale, logger, 2);
  logger.info(
    { removed, nodes: [...new Set(stale.map((c) => c.labels[CONTAINER_LABELS.node]))] },
    "removed containers left by an earlier identity of this installation",
  );
  return removed;
}
