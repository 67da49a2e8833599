// event time of an in_http request, in epoch milliseconds. sources, first that parses: the `time` parameter
// (epoch seconds, float allowed), the record's `time` key (rfc 3339 string as teleport sends it, or epoch
// seconds), else now. unlike fluentd, the `time` key stays in the record: datadog pipelines for teleport remap it.

// 0001-01-01 .. 9999-12-31 is what Date and datadog can represent; fluentd treats 0 as "now"
const MAX_MS = 253402300799999;

function inRange(ms: number): number | null {
  return Number.isFinite(ms) && ms > 0 && ms <= MAX_MS ? ms : null;
}

/** epoch seconds (number or numeric string) to epoch ms; null when not a positive finite number */
export function secondsToMs(value: unknown): number | null {
  let s: number;
  if (typeof value === 'number') s = value;
  else if (typeof value === 'string' && value.trim() !== '') s = Number(value);
  else return null;
  return inRange(Math.round(s * 1000));
}

// the value of n ascii digits at i, or -1
function digits(text: string, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) {
    const c = text.charCodeAt(k) - 0x30; // NaN past the end
    if (!(c >= 0 && c <= 9)) return -1;
    v = v * 10 + c;
  }
  return v;
}

// events come in time order: the start of the last day seen is kept (Date.UTC and the rollover check run once a
// day, not once an event). the memo is a pure function's cache, not state.
let memoKey = -1;
let memoDayMs = NaN;
let memoValid = false;

/**
 * an rfc 3339 timestamp to epoch ms (sub-millisecond digits truncated); null when it does not parse.
 * yyyy-mm-ddThh:mm:ss[.frac][Z|±hh:mm] (t or a space for T, z for Z, ±hhmm too); no zone is read as utc so the
 * result never depends on the host's TZ. read by hand: a regex's captures cost more than the rest of the decode
 */
export function rfc3339ToMs(text: string): number | null {
  const n = text.length;
  if (n < 19) return null;
  const y = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  const t = text.charCodeAt(10);
  if (
    y < 0 ||
    month < 0 ||
    day < 0 ||
    hour < 0 ||
    minute < 0 ||
    second < 0 ||
    text.charCodeAt(4) !== 0x2d ||
    text.charCodeAt(7) !== 0x2d ||
    (t !== 0x54 && t !== 0x74 && t !== 0x20) ||
    text.charCodeAt(13) !== 0x3a ||
    text.charCodeAt(16) !== 0x3a
  )
    return null;
  let i = 19;
  let fracMs = 0;
  if (i < n && text.charCodeAt(i) === 0x2e) {
    // at least one digit; the first three are the milliseconds
    const start = ++i;
    while (i < n && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
    if (i === start) return null;
    for (let k = start; k < start + 3; k++) fracMs = fracMs * 10 + (k < i ? text.charCodeAt(k) - 0x30 : 0);
  }
  let offsetMin = 0;
  if (i < n) {
    const z = text.charCodeAt(i);
    if (z === 0x5a || z === 0x7a) {
      i++;
    } else if (z === 0x2b || z === 0x2d) {
      const offH = digits(text, i + 1, 2);
      const colon = text.charCodeAt(i + 3) === 0x3a ? 1 : 0;
      const offM = digits(text, i + 3 + colon, 2);
      if (offH < 0 || offM < 0) return null;
      if (offH > 23 || offM > 59) return null;
      i += 5 + colon;
      offsetMin = (z === 0x2d ? -1 : 1) * (offH * 60 + offM);
    } else {
      return null;
    }
  }
  if (i !== n) return null;
  // a leap second (:60) is accepted and folds into the next second, as Date.UTC does
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  const key = (y * 100 + month) * 100 + day;
  if (key !== memoKey) {
    // Date.UTC, as before: it reads years 0-99 as 1900-1999
    memoDayMs = Date.UTC(y, month - 1, day);
    // Date.UTC rolls 2024-02-31 over to march: refuse instead of guessing
    memoValid = new Date(memoDayMs).getUTCDate() === day;
    memoKey = key;
  }
  if (!memoValid && second !== 60) return null;
  const ms = memoDayMs + ((hour * 60 + minute) * 60 + second) * 1000 + fracMs - offsetMin * 60_000;
  return inRange(ms);
}

/** the event time of one record */
export function eventTime(paramMs: number | null, record: Record<string, unknown>, now: number): number {
  if (paramMs !== null) return paramMs;
  const t = record.time;
  if (typeof t === 'string') return rfc3339ToMs(t) ?? now;
  if (typeof t === 'number') return secondsToMs(t) ?? now;
  return now;
}
