/**
 * What `admit` reads of a principal for a token, kept per replica so an authorised request needs no
 * round trip to Postgres of its own: the principal's status and credential cut-off, whether the
 * token's session was signed out, the state of the API key it came from, and its policies. An entry
 * is dropped the moment Postgres says something it was made of changed (migration 0031's triggers
 * notify `auth:<principal id>` on commit, heard by every replica's hub), and everything is dropped
 * when notifications may have been lost. While the hub is not listening nothing is cached. Entries
 * live at most `ttlMs` as a net under all that.
 */
export interface AdmissionCacheOptions {
  /** Whether entries can be trusted now (the replica hears every change). */
  enabled: () => boolean;
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
  /** For tests and metrics: told of each hit and miss. */
  onLookup?: (hit: boolean) => void;
}

interface Entry<T> {
  value: T;
  at: number;
}

export class AdmissionCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  /** Keys per principal, to drop all of a principal's at once. */
  private readonly byPrincipal = new Map<string, Set<string>>();
  /** Bumped by every invalidation: a value read before one is not stored after it. */
  private epoch = 0;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(private readonly opts: AdmissionCacheOptions) {
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.maxEntries = opts.maxEntries ?? 50_000;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The cached value of `key` (of `principal`, or of the principal a loaded value names), else
   * `load()`'s, stored unless something changed meanwhile.
   */
  async get(principal: string | ((value: T) => string), key: string, load: () => Promise<T>): Promise<T> {
    if (!this.opts.enabled()) return load();
    const found = this.entries.get(key);
    if (found && this.now() - found.at < this.ttlMs) {
      this.opts.onLookup?.(true);
      return found.value;
    }
    this.opts.onLookup?.(false);
    const epoch = this.epoch;
    const value = await load();
    if (epoch === this.epoch && this.opts.enabled())
      this.store(typeof principal === "string" ? principal : principal(value), key, value);
    return value;
  }

  /** Drops what is cached of a principal, or (null) everything. */
  invalidate(principalId: string | null): void {
    this.epoch++;
    if (principalId === null) {
      this.entries.clear();
      this.byPrincipal.clear();
      return;
    }
    for (const key of this.byPrincipal.get(principalId) ?? []) this.entries.delete(key);
    this.byPrincipal.delete(principalId);
  }

  private store(principalId: string, key: string, value: T): void {
    if (this.entries.size >= this.maxEntries) this.invalidate(null);
    this.entries.set(key, { value, at: this.now() });
    let keys = this.byPrincipal.get(principalId);
    if (!keys) {
      keys = new Set();
      this.byPrincipal.set(principalId, keys);
    }
    keys.add(key);
  }
}
