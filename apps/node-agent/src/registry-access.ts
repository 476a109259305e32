import type { RegistryAuth } from "./runtime/docker-engine";

/**
 * Which registry the node's credential is offered to when the runtime pulls: Berth's own, as the
 * control plane names it in each heartbeat reply, and no other (a registry of a tenant's choosing
 * must never receive a node credential). Until the first reply, a pull waits for it a little.
 */
export class RegistryAccess {
  private host: string | null = null;
  private heard = false;
  private readonly waiting = new Set<() => void>();

  constructor(
    private readonly identity: () => { nodeId: string; credential: string } | null,
    private readonly waitMs = 5_000,
  ) {}

  /** What the control plane's last heartbeat reply said (undefined: no registry). */
  told(host: string | undefined): void {
    this.host = host ?? null;
    this.heard = true;
    for (const wake of this.waiting) wake();
    this.waiting.clear();
  }

  /** The credentials for pulling from `host`: the node's, for Berth's registry only. */
  async auth(host: string): Promise<RegistryAuth | null> {
    if (!this.heard)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.waiting.delete(wake);
          resolve();
        }, this.waitMs);
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        this.waiting.add(wake);
      });
    if (this.host === null || host !== this.host) return null;
    const id = this.identity();
    return id?.credential ? { username: id.nodeId, password: id.credential } : null;
  }
}
