import type { NetworkEndpoint, NetworkService } from "@berth/protocol";

export const endpointKey = (e: NetworkEndpoint) => `${e.ip}:${e.port}`;

/**
 * Which endpoint of a service port takes a new connection (TCP) or flow (UDP), as kube-proxy
 * chooses: round robin over the candidates, or under `sessionAffinity: ClientIP` the client's
 * endpoint of last time while it is a candidate and the affinity has not timed out.
 */
export class EndpointPicker {
  private readonly cursors = new Map<string, number>();
  private readonly sticky = new Map<string, { endpoint: string; until: number }>();

  /**
   * `key` names the service address and port; `attempt` > 0 is a retry after a failed dial (the
   * affinity is not consulted again: its endpoint was the one that failed).
   */
  pick(
    key: string,
    service: NetworkService,
    source: string,
    candidates: readonly NetworkEndpoint[],
    attempt = 0,
  ): NetworkEndpoint | undefined {
    if (candidates.length === 0) return undefined;
    const now = Date.now();
    const stickyKey = `${key}|${source}`;
    const affinity = service.sessionAffinity === "ClientIP";
    if (affinity && attempt === 0) {
      const held = this.sticky.get(stickyKey);
      if (held && held.until > now) {
        const found = candidates.find((e) => endpointKey(e) === held.endpoint);
        if (found) {
          held.until = now + service.affinityTimeoutSeconds * 1000;
          return found;
        }
      }
    }
    const n = this.cursors.get(key) ?? 0;
    this.cursors.set(key, n + 1);
    const chosen = candidates[n % candidates.length];
    if (chosen && affinity)
      this.sticky.set(stickyKey, {
        endpoint: endpointKey(chosen),
        until: now + service.affinityTimeoutSeconds * 1000,
      });
    return chosen;
  }
}
