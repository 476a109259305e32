import { describe, expect, it } from "vitest";
import {
  decodeStreamMessage,
  decodeTerminalSize,
  encodeStreamMessage,
  type StreamMessage,
  streamRequestSchema,
} from "../src";

describe("stream messages", () => {
  it("round-trip every kind, bytes kept exactly", () => {
    const messages: StreamMessage[] = [
      { type: "data", channel: 1, payload: Uint8Array.of(0, 255, 10, 13) },
      { type: "data", channel: 255, payload: Uint8Array.of(0) },
      { type: "started" },
      { type: "end", end: { ok: true, exitCode: 3, truncated: true } },
      { type: "ack", bytes: 65_536 },
      { type: "ping" },
    ];
    for (const m of messages) expect(decodeStreamMessage(encodeStreamMessage(m))).toEqual(m);
  });

  it("refuses what is not a message: empty, unknown types, a malformed end, trailing bytes", () => {
    expect(decodeStreamMessage(new Uint8Array())).toBeNull();
    expect(decodeStreamMessage(Uint8Array.of(9))).toBeNull();
    expect(decodeStreamMessage(Uint8Array.of(0))).toBeNull();
    expect(decodeStreamMessage(Uint8Array.of(1, 1))).toBeNull();
    expect(decodeStreamMessage(Uint8Array.of(3, 0, 0))).toBeNull();
    const bad = new TextEncoder().encode(JSON.stringify({ ok: "yes" }));
    expect(decodeStreamMessage(Uint8Array.of(2, ...bad))).toBeNull();
    expect(decodeStreamMessage(Uint8Array.of(2, 123))).toBeNull();
  });

  it("reads a terminal size as Kubernetes sends it, and nothing else", () => {
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    expect(decodeTerminalSize(enc({ Width: 80, Height: 24 }))).toEqual({ Width: 80, Height: 24 });
    expect(decodeTerminalSize(enc({ Width: 0, Height: 24 }))).toBeNull();
    expect(decodeTerminalSize(enc({ width: 80, height: 24 }))).toBeNull();
    expect(decodeTerminalSize(new TextEncoder().encode("{"))).toBeNull();
  });
});

describe("stream requests", () => {
  const base = {
    streamId: "str_0123456789abcdefghijklmnop",
    podId: "pod_01",
    container: "web",
    expiresAt: "2026-01-01T00:00:10Z",
  };
  it("accept logs and exec as the control plane asks them", () => {
    expect(
      streamRequestSchema.safeParse({
        ...base,
        kind: "logs",
        logs: { follow: true, previous: false, timestamps: false, tailLines: 10, limitBytes: 1024 },
      }).success,
    ).toBe(true);
    expect(
      streamRequestSchema.safeParse({
        ...base,
        kind: "exec",
        exec: { command: ["sh"], stdin: true, tty: true },
      }).success,
    ).toBe(true);
  });

  it("refuse an empty command, a NUL in it, a container that is no DNS label, and unknown fields", () => {
    const exec = (e: unknown, extra: object = {}) =>
      streamRequestSchema.safeParse({ ...base, ...extra, kind: "exec", exec: e }).success;
    expect(exec({ command: [], stdin: false, tty: false })).toBe(false);
    expect(exec({ command: ["a\u0000"], stdin: false, tty: false })).toBe(false);
    expect(exec({ command: ["sh"], stdin: false, tty: false }, { container: "Web" })).toBe(false);
    expect(exec({ command: ["sh"], stdin: false, tty: false, shell: "bash -c" })).toBe(false);
  });
});
