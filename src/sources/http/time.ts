// event time of an in_http request, in epoch milliseconds. sources, first that parses: the `time` parameter
// (epoch seconds, float allowed), the record's `time` key (rfc 3339 string as teleport sends it, or epoch
// seconds), else now. unlike fluentd, the `time` key stays in the record: datadog pipelines for teleport remap it.

// 0001-01-01 .. 9999-12-31 is what Date and datadog can represent; fluentd treats 0 as "now"
const MAX_MS = 253402300799999;

// yyyy-mm-ddThh:mm:ss[.frac][Z|±hh:mm]; no zone is read as utc so the result never depends on the host's TZ
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:?\d{2})?$/;

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

/** an rfc 3339 timestamp to epoch ms (sub-millisecond digits truncated); null when it does not parse */
export function rfc3339ToMs(text: string): number | null {
  const m = RFC3339.exec(text);
  if (m === null) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  // a leap second (:60) is accepted and folds into the next second, as Date.UTC does
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  let ms = Date.UTC(Number(y), month - 1, day, hour, minute, second);
  // Date.UTC rolls 2024-02-31 over to march: refuse instead of guessing
  if (new Date(ms).getUTCDate() !== day && second !== 60) return null;
  if (frac !== undefined) ms += Number(frac.slice(0, 3).padEnd(3, '0'));
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offH = Number(digits.slice(0, 2));
    const offM = Number(digits.slice(2, 4));
    if (offH > 23 || offM > 59) return null;
    ms -= sign * (offH * 60 + offM) * 60_000;
  }
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
