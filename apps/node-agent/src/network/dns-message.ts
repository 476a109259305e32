/**
 * Just enough of the DNS wire format (RFC 1035) for the cluster resolver: read one question,
 * write an answer with A, SRV (RFC 2782), PTR and TXT records, or an empty one with a response code.
 */
export const RCODE = { noError: 0, serverFailure: 2, nameError: 3, refused: 5 } as const;

export interface Question {
  id: number;
  /** Lower case, without the trailing dot. */
  name: string;
  type: number;
  /** Where the question ends (the answer repeats it). */
  end: number;
  recursionDesired: boolean;
}

/** The query's first question, or null when it is not a well-formed standard query. */
export function readQuestion(msg: Buffer): Question | null {
  if (msg.length < 12) return null;
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000 || ((flags >> 11) & 0xf) !== 0 || msg.readUInt16BE(4) < 1) return null;
  const labels: string[] = [];
  let at = 12;
  for (;;) {
    const len = msg[at];
    if (len === undefined || len > 63) return null;
    at += 1;
    if (len === 0) break;
    if (at + len > msg.length) return null;
    labels.push(
      msg
        .subarray(at, at + len)
        .toString("latin1")
        .toLowerCase(),
    );
    at += len;
  }
  if (at + 4 > msg.length) return null;
  return {
    id: msg.readUInt16BE(0),
    name: labels.join("."),
    type: msg.readUInt16BE(at),
    end: at + 4,
    recursionDesired: (flags & 0x0100) !== 0,
  };
}

/** A resource record of an answer (class IN). */
export type DnsRecord =
  | { name: string; type: "A"; address: string }
  | { name: string; type: "SRV"; priority: number; weight: number; port: number; target: string }
  | { name: string; type: "PTR"; target: string }
  | { name: string; type: "TXT"; text: string };

export const QTYPE = { A: 1, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, ANY: 255 } as const;

/** Without EDNS, a UDP answer holds at most 512 bytes (RFC 1035 4.2.1); beyond, it is truncated (TC). */
const UDP_MAX = 512;

function encodeName(name: string): Buffer {
  const parts = name === "" ? [] : name.split(".");
  return Buffer.concat([
    ...parts.map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, "latin1")])),
    Buffer.from([0]),
  ]);
}

function recordData(r: DnsRecord): Buffer {
  switch (r.type) {
    case "A":
      return Buffer.from(r.address.split(".").map(Number));
    case "SRV": {
      const head = Buffer.alloc(6);
      head.writeUInt16BE(r.priority, 0);
      head.writeUInt16BE(r.weight, 2);
      head.writeUInt16BE(r.port, 4);
      return Buffer.concat([head, encodeName(r.target)]);
    }
    case "PTR":
      return encodeName(r.target);
    case "TXT": {
      const text = Buffer.from(r.text, "utf8").subarray(0, 255);
      return Buffer.concat([Buffer.from([text.length]), text]);
    }
  }
}

/** One record; its owner name a pointer to the question's when it is the question's name. */
function encodeRecord(r: DnsRecord, question: string, ttl: number): Buffer {
  const owner = r.name === question ? Buffer.from([0xc0, 0x0c]) : encodeName(r.name);
  const data = recordData(r);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(QTYPE[r.type], 0);
  fixed.writeUInt16BE(1, 2); // IN
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(data.length, 8);
  return Buffer.concat([owner, fixed, data]);
}

/**
 * The answer to `query`: its question repeated, then `answers` and `additional` records (TTL
 * `ttl`). What does not fit in a UDP message is left out: the additional records first, then the
 * answers that do not fit, with the TC flag set.
 */
export function writeAnswer(
  query: Buffer,
  q: Question,
  rcode: number,
  answers: readonly DnsRecord[] = [],
  additional: readonly DnsRecord[] = [],
  ttl = 5,
): Buffer {
  const question = query.subarray(12, q.end);
  let size = 12 + question.length;
  const fit = (records: readonly DnsRecord[]) => {
    const out: Buffer[] = [];
    for (const r of records) {
      const rr = encodeRecord(r, q.name, ttl);
      if (size + rr.length > UDP_MAX) return { out, whole: false };
      size += rr.length;
      out.push(rr);
    }
    return { out, whole: true };
  };
  const an = fit(answers);
  const ar = an.whole ? fit(additional) : { out: [], whole: true };
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  // QR, authoritative, TC when answers were cut, RD as asked, RA, the response code.
  const truncated = an.whole ? 0 : 0x0200;
  header.writeUInt16BE(0x8000 | 0x0400 | truncated | (q.recursionDesired ? 0x0100 : 0) | 0x0080 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(an.out.length, 6);
  header.writeUInt16BE(ar.out.length, 10);
  return Buffer.concat([header, question, ...an.out, ...ar.out]);
}
