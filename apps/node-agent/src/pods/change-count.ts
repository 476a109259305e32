import type { ContainerRuntime } from "../runtime";

/** The runtime calls that change what a list of containers shows. */
const CHANGES = new Set<string | symbol>(["create", "start", "stop", "kill", "remove"]);

/**
 * The runtime, with a count of the calls made through it that change containers: a pod's step
 * that changed nothing needs no second look at the engine (a list costs the engine a few ms of CPU
 * per container it shows, and a burst of pods on a node is mostly such looks).
 */
export function countingChanges(runtime: ContainerRuntime): {
  runtime: ContainerRuntime;
  changes: () => number;
} {
  let changes = 0;
  const counted = new Proxy(runtime, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (!CHANGES.has(key) || typeof value !== "function") return value;
      return (...args: unknown[]) => {
        changes += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { runtime: counted, changes: () => changes };
}
