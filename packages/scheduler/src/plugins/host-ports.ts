import type { FilterPlugin } from "../framework";

export const NO_FREE_PORTS = "node(s) didn't have free ports";

/** Rejects nodes whose host port range has fewer free ports than the pod asks for. */
export const hostPorts: FilterPlugin = {
  name: "HostPorts",
  podKey: (pod) => String(pod.hostPortCount),
  prepare(pod) {
    const wanted = pod.hostPortCount;
    if (wanted === 0) return null;
    return (info) => (info.freePorts >= wanted ? null : NO_FREE_PORTS);
  },
};
