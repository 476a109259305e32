import { describe, expect, it } from "vitest";
import { demultiplexLogs, isTransientPullError, pullStreamError } from "./engine-stream";

function frame(stream: 1 | 2, payload: Buffer | string): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header.writeUInt8(stream, 0);
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

describe("demultiplexLogs", () => {
  it("joins stdout and stderr frames in order without their headers", () => {
    const body = Buffer.concat([frame(1, "out1\n"), frame(2, "err1\n"), frame(1, "out2\n")]);
    expect(demultiplexLogs(body)).toBe("out1\nerr1\nout2\n");
  });

  it("keeps a multi-byte character split across two frames intact", () => {
    const euro = Buffer.from("€\n");
    expect(demultiplexLogs(Buffer.concat([frame(1, euro.subarray(0, 1)), frame(1, euro.subarray(1))]))).toBe(
      "€\n",
    );
  });

  it("returns an empty string for no output, and a TTY's raw stream as is", () => {
    expect(demultiplexLogs(Buffer.alloc(0))).toBe("");
    expect(demultiplexLogs(Buffer.from("plain tty output\n"))).toBe("plain tty output\n");
  });

  it("treats a truncated frame as raw output rather than dropping it", () => {
    const truncated = frame(1, "hello\n").subarray(0, 10);
    expect(demultiplexLogs(truncated)).toBe(truncated.toString("utf8"));
  });
});

describe("pullStreamError", () => {
  it("finds the error line in a 200 progress stream", () => {
    const body = Buffer.from(
      [
        JSON.stringify({ status: "Trying to pull localhost:1/x:v1..." }),
        JSON.stringify({
          errorDetail: { message: "dial tcp 127.0.0.1:1: connect: connection refused" },
          error: "dial tcp 127.0.0.1:1: connect: connection refused",
        }),
      ].join("\n"),
    );
    expect(pullStreamError(body)).toBe("dial tcp 127.0.0.1:1: connect: connection refused");
  });

  it("returns null for a successful pull", () => {
    const body = Buffer.from(`${JSON.stringify({ status: "Download complete", id: "sha256:abc" })}\n`);
    expect(pullStreamError(body)).toBeNull();
  });

  it("tells registry network trouble from a missing image", () => {
    expect(isTransientPullError("pinging container registry localhost: connect: connection refused")).toBe(
      true,
    );
    expect(isTransientPullError("reading manifest v9 in localhost:5000/x: manifest unknown")).toBe(false);
  });
});
