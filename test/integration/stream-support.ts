import { WebSocket } from "ws";

/** A client of an interactive exec, framed as kubectl frames it (`v5.channel.k8s.io`). */
export interface ExecClient {
  readonly protocol: string;
  /** Sends bytes on a channel: 0 stdin, 4 resize, 255 close. */
  send(channel: number, data: string | Buffer): void;
  resize(width: number, height: number): void;
  /** What arrived on a channel so far (1 stdout, 2 stderr). */
  received(channel: number): string;
  /** Resolves once `pattern` shows up on the channel (default stdout). */
  waitFor(pattern: RegExp, channel?: number, timeoutMs?: number): Promise<void>;
  /** The status (channel 3) the server sent before closing. */
  readonly status: Promise<Record<string, unknown>>;
  readonly closed: Promise<number>;
  close(): void;
}

export function execClient(url: string, token: string): Promise<ExecClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, "ws"), ["v5.channel.k8s.io", "v4.channel.k8s.io"], {
      headers: { authorization: `Bearer ${token}` },
    });
    const text = new Map<number, string>();
    const listeners = new Set<() => void>();
    let status: (s: Record<string, unknown>) => void = () => {};
    const statusPromise = new Promise<Record<string, unknown>>((r) => (status = r));
    const closed = new Promise<number>((r) => ws.on("close", (code) => r(code)));
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })),
      );
    });
    ws.on("error", reject);
    ws.on("message", (data: Buffer) => {
      const channel = data[0] ?? -1;
      const payload = data.subarray(1).toString("utf8");
      if (channel === 3) status(JSON.parse(payload));
      text.set(channel, (text.get(channel) ?? "") + payload);
      for (const l of [...listeners]) l();
    });
    ws.on("open", () =>
      resolve({
        protocol: ws.protocol,
        status: statusPromise,
        closed,
        send(channel, data) {
          ws.send(Buffer.concat([Buffer.of(channel), Buffer.from(data)]));
        },
        resize(width, height) {
          ws.send(
            Buffer.concat([Buffer.of(4), Buffer.from(JSON.stringify({ Width: width, Height: height }))]),
          );
        },
        received: (channel) => text.get(channel) ?? "",
        waitFor(pattern, channel = 1, timeoutMs = 10_000) {
          return new Promise((ok, fail) => {
            const check = () => {
              if (!pattern.test(text.get(channel) ?? "")) return;
              listeners.delete(check);
              clearTimeout(timer);
              ok();
            };
            const timer = setTimeout(() => {
              listeners.delete(check);
              fail(
                new Error(
                  `timed out waiting for ${pattern}; channel ${channel}: ${JSON.stringify(text.get(channel) ?? "")}`,
                ),
              );
            }, timeoutMs);
            listeners.add(check);
            check();
          });
        },
        close: () => ws.close(),
      }),
    );
  });
}

/** Reads a streamed body, noting when each line arrived (ms since `since`). */
export async function readLines(
  res: Response,
  since = Date.now(),
): Promise<{ text: string; lines: { line: string; at: number }[] }> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  let partial = "";
  const lines: { line: string; at: number }[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const chunk = decoder.decode(value, { stream: true });
    text += chunk;
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    for (const line of parts) lines.push({ line, at: Date.now() - since });
  }
  return { text, lines };
}
