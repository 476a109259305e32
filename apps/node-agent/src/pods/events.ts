import type { PodEvent } from "@berth/protocol";

/** The most events one report carries (the wire's limit); older ones are dropped first. */
export const MAX_EVENTS = 500;

/**
 * What happened to pods since the last report, as kubelet's event recorder would say it. A report
 * takes them; one that could not be sent puts them back, so a control-plane outage loses only
 * what overflows the bound.
 */
export class EventLog {
  private events: PodEvent[] = [];
  dropped = 0;

  constructor(
    private readonly now: () => number,
    private readonly onAdd: () => void = () => {},
  ) {}

  add(podId: string, type: PodEvent["type"], reason: PodEvent["reason"], message: string): void {
    this.events.push({
      podId,
      type,
      reason,
      message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
      at: new Date(this.now()).toISOString(),
    });
    this.trim();
    this.onAdd();
  }

  get size(): number {
    return this.events.length;
  }

  take(): PodEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }

  /** Events a failed report carried come back before the ones added since. */
  restore(events: readonly PodEvent[]): void {
    this.events = [...events, ...this.events];
    this.trim();
  }

  private trim(): void {
    const over = this.events.length - MAX_EVENTS;
    if (over > 0) {
      this.events.splice(0, over);
      this.dropped += over;
    }
  }
}
