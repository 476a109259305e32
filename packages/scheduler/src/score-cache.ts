import type { ScorePlugin } from "./framework";

interface Entry {
  /** Raw score per node index. */
  readonly raw: Float64Array;
  /** The node's version when `raw` was computed; -1: never. */
  readonly seen: Int32Array;
}

/**
 * Raw scores of scorers that promise a `podKey`, per key and node, each valid until its node
 * changes (`ClusterState.versions`). Replicas of one deployment mostly look at nodes nothing has
 * landed on since the last replica did, so most raw scores are read, not computed. At most `limit`
 * keys per scorer, oldest dropped first: the cache changes how fast a plan is made, never which.
 */
export class ScoreCache {
  private readonly entries = new Map<ScorePlugin, Map<string, Entry>>();

  constructor(
    private readonly nodeCount: number,
    private readonly limit = 64,
  ) {}

  entry(plugin: ScorePlugin, key: string): Entry {
    let byKey = this.entries.get(plugin);
    if (!byKey) {
      byKey = new Map();
      this.entries.set(plugin, byKey);
    }
    let entry = byKey.get(key);
    if (entry) return entry;
    if (byKey.size >= this.limit) {
      const oldest = byKey.keys().next();
      if (!oldest.done) byKey.delete(oldest.value);
    }
    entry = { raw: new Float64Array(this.nodeCount), seen: new Int32Array(this.nodeCount).fill(-1) };
    byKey.set(key, entry);
    return entry;
  }
}
