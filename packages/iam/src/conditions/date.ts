import type { OrderedComparison } from "./operators";
import { compareOrdered, type ValueTest } from "./value-test";

const EPOCH_SECONDS = /^\d{1,12}$/;
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:Z|([+-])(\d{2}):(\d{2}))?)?$/;

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in a month of a year; 0 for a month that does not exist. */
function daysIn(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : (DAYS[month - 1] ?? 0);
}

/**
 * Milliseconds since the epoch, or NaN. AWS date operators take "W3C implementations of the
 * ISO 8601 date formats" or epoch (UNIX) time in seconds ("Date condition operators"). Berth
 * accepts `YYYY-MM-DD`, optionally `Thh:mm[:ss[.fraction]]` and a zone (`Z` or `±hh:mm`);
 * a time without a zone is read as UTC. All-digit text is epoch seconds. Out-of-range
 * fields (month 13, 30 February, hour 24) make the date invalid rather than rolling over.
 */
export function parseDate(text: string): number {
  // One request value (berth:CurrentTime) is read by many statements in one evaluation.
  if (text === lastText) return lastValue;
  lastValue = readDate(text);
  lastText = text;
  return lastValue;
}

let lastText: string | undefined;
let lastValue = Number.NaN;

function readDate(text: string): number {
  if (EPOCH_SECONDS.test(text)) return Number(text) * 1000;
  const m = ISO_8601.exec(text);
  if (m === null) return Number.NaN;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const millis = Number((m[7] ?? "").padEnd(3, "0").slice(0, 3));
  if (day < 1 || day > daysIn(year, month)) return Number.NaN;
  if (hour > 23 || minute > 59 || second > 59) return Number.NaN;
  let offsetMinutes = 0;
  const sign = m[8];
  if (sign !== undefined) {
    const zh = Number(m[9]);
    const zm = Number(m[10]);
    if (zh > 23 || zm > 59) return Number.NaN;
    offsetMinutes = (sign === "-" ? -1 : 1) * (zh * 60 + zm);
  }
  // setUTCFullYear, unlike Date.UTC, reads years 0–99 as themselves, not as 1900–1999.
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, millis);
  return utc.getTime() - offsetMinutes * 60_000;
}

/** Date operators; an unparseable date, on either side, matches nothing (DateNotEquals is then true). */
export function compileDateTest(comparison: OrderedComparison, values: readonly string[]): ValueTest {
  const instants = values.map(parseDate); // a NaN among them compares false with everything
  return (request) => {
    const t = parseDate(request);
    return instants.some((p) => compareOrdered(comparison, t, p));
  };
}
