export { createNativeRuntime, type NativeRuntimeOptions } from "./native-runtime";
export { buildShim } from "./shim-build";
