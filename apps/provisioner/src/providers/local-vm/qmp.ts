import { createConnection, type Socket } from "node:net";

/** A QMP error reply: its class (`GenericError`, `DeviceNotFound`, …) and description. */
export class QmpError extends Error {
  constructor(
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`${errorClass}: ${desc}`);
  }
}

/**
 * One conversation with a VM's QEMU over its QMP socket (JSON lines): the greeting, capabilities
 * negotiation, then commands one at a time. Asynchronous events (DEVICE_DELETED, …) are kept for
 * `waitEvent`. Closed by the caller; a timeout fails a command rather than hanging a job.
 */
export class Qmp {
  private buffer = "";
  private readonly lines: Record<string, unknown>[] = [];
  private readonly waiters: (() => void)[] = [];
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      for (let at = this.buffer.indexOf("\n"); at >= 0; at = this.buffer.indexOf("\n")) {
        const line = this.buffer.slice(0, at).trim();
        this.buffer = this.buffer.slice(at + 1);
        if (line) this.lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      for (const w of this.waiters.splice(0)) w();
    });
    const end = () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    };
    socket.on("close", end);
    socket.on("error", end);
  }

  /**
   * Connects and negotiates; rejects at once when nothing listens (the VM is gone). QEMU serves one
   * QMP client at a time and drops a connection made while the last one is being closed: that is
   * tried again, a few times.
   */
  static async connect(path: string, timeoutMs = 10_000): Promise<Qmp> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await Qmp.connectOnce(path, timeoutMs);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ECONNREFUSED" || attempt >= 10) throw error;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }

  private static async connectOnce(path: string, timeoutMs: number): Promise<Qmp> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection(path);
      s.once("connect", () => resolve(s));
      s.once("error", reject);
    });
    const qmp = new Qmp(socket);
    try {
      await qmp.next((m) => "QMP" in m, timeoutMs);
      await qmp.execute("qmp_capabilities", undefined, timeoutMs);
      return qmp;
    } catch (error) {
      qmp.close();
      throw error;
    }
  }

  private async next(match: (m: Record<string, unknown>) => boolean, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.lines.findIndex(match);
      if (at >= 0) return this.lines.splice(at, 1)[0] as Record<string, unknown>;
      if (this.closed) throw new Error("QMP: the VM closed the connection");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("QMP: no answer in time");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async execute(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<unknown> {
    this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) })}\n`);
    const reply = await this.next((m) => "return" in m || "error" in m, timeoutMs);
    if ("error" in reply) {
      const e = reply.error as { class?: string; desc?: string };
      throw new QmpError(e.class ?? "GenericError", e.desc ?? "unknown error");
    }
    return reply.return;
  }

  /** Waits for an event (e.g. DEVICE_DELETED of a device id); false when it did not come in time. */
  async waitEvent(name: string, match: (data: Record<string, unknown>) => boolean, timeoutMs: number) {
    return this.next(
      (m) => m.event === name && match((m.data ?? {}) as Record<string, unknown>),
      timeoutMs,
    ).then(
      () => true,
      () => false,
    );
  }

  close(): void {
    this.socket.destroy();
  }
}
