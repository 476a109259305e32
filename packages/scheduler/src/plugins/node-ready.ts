import type { FilterPlugin, NodeFilter } from "../framework";

export const NODE_NOT_READY = "node(s) not ready";

const check: NodeFilter = (info) => (info.node.ready === true ? null : NODE_NOT_READY);

/** Rejects nodes whose agent has not reported ready. */
export const nodeReady: FilterPlugin = {
  name: "NodeReady",
  static: true,
  podKey: () => "",
  prepare: () => check,
};
