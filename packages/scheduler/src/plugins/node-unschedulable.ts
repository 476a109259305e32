import type { FilterPlugin, NodeFilter } from "../framework";

export const NODE_UNSCHEDULABLE = "node(s) were unschedulable";

const check: NodeFilter = (info) => (info.node.unschedulable ? NODE_UNSCHEDULABLE : null);

/** Rejects cordoned nodes. */
export const nodeUnschedulable: FilterPlugin = {
  name: "NodeUnschedulable",
  static: true,
  podKey: () => "",
  prepare: () => check,
};
