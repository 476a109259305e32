export { createDockerEngineRuntime, type DockerEngineRuntimeConfig } from "./docker-engine";
export type { EngineEndpoint } from "./engine-http";
export { buildShim, createNativeRuntime, type NativeRuntimeOptions } from "./native/index";
export * from "./types";
