export { createDockerEngineRuntime, type DockerEngineRuntimeConfig } from "./docker-engine";
export type { EngineEndpoint } from "./engine-http";
export * from "./types";
