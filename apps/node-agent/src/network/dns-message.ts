/**
 * Just enough of the DNS wire format (RFC 1035) for the cluster resolver: read one question,
 * write an answer with A records, or an empty answer with a response code.
 */
export const QTYPE_A = 1;
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

/** The answer to `query`: its question repeated, then one A record per address (TTL `ttl`). */
export function writeAnswer(query: Buffer, q: Question, rcode: number, addresses: string[], ttl = 5): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  // QR, authoritative, RD as asked, RA, the response code.
  header.writeUInt16BE(0x8000 | 0x0400 | (q.recursionDesired ? 0x0100 : 0) | 0x0080 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addresses.length, 6);
  const question = query.subarray(12, q.end);
  const answers = addresses.map((ip) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    rr.writeUInt16BE(QTYPE_A, 2);
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(ttl, 6);
    rr.writeUInt16BE(4, 10);
    ip.split(".").forEach((part, i) => {
      rr.writeUInt8(Number(part), 12 + i);
    });
    return rr;
  });
  return Buffer.concat([header, question, ...answers]);
}
