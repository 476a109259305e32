import type { FilterPlugin } from "../framework";

export const SELECTOR_MISMATCH = "node(s) didn't match node selector";

function byKey(a: [string, string], b: [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** Rejects nodes missing any label of the pod's nodeSelector, or carrying another value for it. */
export const nodeSelector: FilterPlugin = {
  name: "NodeSelector",
  static: true,
  podKey: (pod) => JSON.stringify(Object.entries(pod.nodeSelector ?? {}).sort(byKey)),
  prepare(pod) {
    const wanted = Object.entries(pod.nodeSelector ?? {});
    if (wanted.length === 0) return null;
    return (info) => {
      const labels = info.node.labels;
      for (const [key, value] of wanted) {
        if (!Object.hasOwn(labels, key) || labels[key] !== value) return SELECTOR_MISMATCH;
      }
      return null;
    };
  },
};
