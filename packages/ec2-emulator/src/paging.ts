import { Ec2Error } from "./errors";

export interface Page<T> {
  items: T[];
  nextToken: string | undefined;
}

const PREFIX = "ec2emu:";

/**
 * MaxResults / NextToken paging over a list in a stable order (launch order). The token is
 * opaque to clients, as EC2's is; here it is the offset of the next item.
 */
export function paginate<T>(
  all: readonly T[],
  maxResults: number | undefined,
  nextToken: string | undefined,
): Page<T> {
  const start = nextToken === undefined ? 0 : decode(nextToken);
  if (maxResults === undefined) return { items: all.slice(start), nextToken: undefined };
  const end = start + maxResults;
  return { items: all.slice(start, end), nextToken: end < all.length ? encode(end) : undefined };
}

function encode(offset: number): string {
  return Buffer.from(`${PREFIX}${offset}`).toString("base64url");
}

function decode(token: string): number {
  const text = Buffer.from(token, "base64url").toString("utf8");
  const offset = text.startsWith(PREFIX) ? Number(text.slice(PREFIX.length)) : Number.NaN;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new Ec2Error(
      "InvalidPaginationToken",
      "The specified pagination token is not valid or is expired.",
    );
  }
  return offset;
}
