import { describe, expect, it } from "vitest";
import { demultiplex, unixSeconds } from "./engine-frames";
import { RuntimeError } from "./types";

const frame = (stream: number, text: string): Buffer => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header.writeUInt8(stream, 0);
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

async function read(pieces: Buffer[]): Promise<string[]> {
  async function* source() {
    for (const p of pieces) yield p;
  }
  const out: string[] = [];
  for await (const c of demultiplex(source())) out.push(`${c.stream}:${c.data.toString()}`);
  return out;
}

describe("demultiplex", () => {
  it("splits frames that arrive cut anywhere, even one byte at a time", async () => {
    const bytes = Buffer.concat([frame(1, "out\n"), frame(2, "err\n"), frame(1, "more\n")]);
    const expected = ["stdout:out\n", "stderr:err\n", "stdout:more\n"];
    expect(await read([bytes])).toEqual(expected);
    expect(await read([...bytes].map((b) => Buffer.of(b)))).toEqual(expected);
    expect(await read([bytes.subarray(0, 5), bytes.subarray(5, 13), bytes.subarray(13)])).toEqual(expected);
  });

  it("refuses a malformed header and a stream cut mid-frame", async () => {
    await expect(read([Buffer.from("not a frame at all")])).rejects.toBeInstanceOf(RuntimeError);
    await expect(read([frame(1, "hello").subarray(0, 10)])).rejects.toBeInstanceOf(RuntimeError);
  });
});

describe("unixSeconds", () => {
  it("keeps every digit of the fraction an engine gives, and takes offsets into account", () => {
    expect(unixSeconds("2026-12-03T15:58:31.455009208Z")).toBe("1796313511.455009208");
    expect(unixSeconds("2026-12-03T15:58:31Z")).toBe("1796313511.000000000");
    expect(unixSeconds("2026-12-03T16:58:31.5+01:00")).toBe("1796313511.500000000");
  });

  it("refuses what is not an RFC 3339 instant", () => {
    expect(() => unixSeconds("yesterday")).toThrow(RuntimeError);
    expect(() => unixSeconds("2026-13-45T99:99:99Z")).toThrow(RuntimeError);
  });
});
