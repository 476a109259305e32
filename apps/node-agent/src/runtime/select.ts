import { createDockerEngineRuntime, type RegistryAuth } from "./docker-engine";
import { createNativeRuntime } from "./native/index";
import { type ContainerRuntime, RuntimeError } from "./types";

export type RuntimeName = "engine" | "native";

export interface RuntimeChoice {
  name: RuntimeName;
  /** The engine's API (unix://… or http://…), for `engine`. */
  containerHost: string;
  userNamespace: "auto" | "off";
  pidsLimit: number;
  /** `native`: its built berth-shim (absent: the runtime is unavailable, and says so). */
  shimPath?: string | undefined;
  /** `native`: where its images and containers are kept. */
  nativeRoot: string;
  /** `native`: where registries and token realms named by a host are reached, and image rewrites. */
  registryHostAliases: readonly [string, string][];
  imageRewrites: readonly [string, string][];
  /** Credentials for pulls from a registry host: the node's own for Berth's registry, else null. */
  registryAuth: (host: string) => Promise<RegistryAuth | null>;
}

/** What this build of the agent can run containers with, by name. */
export function selectRuntime(choice: RuntimeChoice): ContainerRuntime {
  switch (choice.name) {
    case "engine":
      return createDockerEngineRuntime({
        ...(choice.containerHost.startsWith("unix://")
          ? { socketPath: choice.containerHost.slice("unix://".length) }
          : { url: choice.containerHost }),
        userNamespace: choice.userNamespace,
        pidsLimit: choice.pidsLimit,
        registryAuth: choice.registryAuth,
      });
    case "native":
      if (!choice.shimPath)
        return absentRuntime("native", "BERTH_SHIM_PATH names no berth-shim (see infra/guest/build.sh)");
      return createNativeRuntime({
        root: choice.nativeRoot,
        shimPath: choice.shimPath,
        pidsLimit: choice.pidsLimit,
        registry: {
          hostAliases: Object.fromEntries(choice.registryHostAliases),
          rewrites: choice.imageRewrites.map(([from, to]) => ({ from, to })),
          credentials: choice.registryAuth,
        },
      });
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
