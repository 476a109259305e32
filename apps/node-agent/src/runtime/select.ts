import { createDockerEngineRuntime } from "./docker-engine";
import { type ContainerRuntime, RuntimeError } from "./types";

export type RuntimeName = "engine" | "native";

export interface RuntimeChoice {
  name: RuntimeName;
  /** The engine's API (unix://… or http://…), for `engine`. */
  containerHost: string;
  userNamespace: "auto" | "off";
  pidsLimit: number;
}

/** What this build of the agent can run containers with, by name; `native` is not in it yet. */
export function selectRuntime(choice: RuntimeChoice): ContainerRuntime {
  switch (choice.name) {
    case "engine":
      return createDockerEngineRuntime({
        ...(choice.containerHost.startsWith("unix://")
          ? { socketPath: choice.containerHost.slice("unix://".length) }
          : { url: choice.containerHost }),
        userNamespace: choice.userNamespace,
        pidsLimit: choice.pidsLimit,
      });
    case "native":
      return absentRuntime("native", "the native runtime is not part of this agent build");
  }
}

/**
 * A runtime that is not there: every call fails with UNAVAILABLE and the reason, so the node joins
 * and heartbeats, says why in its log and in its pods' statuses, and runs nothing.
 */
export function absentRuntime(name: string, reason: string): ContainerRuntime {
  const fail = (): Promise<never> =>
    Promise.reject(new RuntimeError("UNAVAILABLE", `${name} runtime unavailable: ${reason}`));
  return {
    name,
    ping: fail,
    ensureImage: fail,
    create: fail,
    start: fail,
    stop: fail,
    kill: fail,
    execCommand: fail,
    hasImage: fail,
    pullImage: fail,
    imageConfig: fail,
    remove: fail,
    inspect: fail,
    list: fail,
    logs: fail,
    streamLogs: fail,
    exec: fail,
    stats: fail,
    ensureNetwork: fail,
    removeNetwork: fail,
    diskUsage: fail,
  };
}
