// a record and its rule -> the JSON text of one Datadog log item. the fast path serializes the record once and
// appends the added keys as text; the object path (buildItem) gives the same text where the fast one cannot.
// pure (isoTime keeps a per-day cache of its own output).

import type { SourceRecord } from '../record.js';
import { toJson } from './truncate.js';
import { ROUTER_DEFAULTS } from './defaults.js';
import type { CompiledRule } from './rules.js';

// a teleport event code: T, a few digits or capitals, and a severity letter
const CODE_RE = /^T[0-9A-Z]{2,8}[IWE]$/;
const STATUS_BY_LETTER: Record<string, string> = { I: 'info', W: 'warn', E: 'error' };
const MAX_DATE_MS = 8.64e15;

export const ORIGINAL_PREFIX = `,${JSON.stringify(ROUTER_DEFAULTS.originalTimestampKey)}:`;

/** an old event stamped now, its own time kept in original_timestamp (after the record's keys) */
export function restamped(rec: SourceRecord, t: number): SourceRecord {
  const record = rec.record;
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return rec;
  return {
    tag: rec.tag,
    time: t,
    record: { ...record, [ROUTER_DEFAULTS.originalTimestampKey]: isoTime(rec.time) ?? rec.time },
  };
}

// whether the record's text plus `,"original_timestamp":...` reads as the text of restamped()'s copy: a plain
// object (the copy has no inherited keys, the text path reads them) without that key and without toJSON
export function appendable(record: unknown): record is Record<string, unknown> {
  if (typeof record !== 'object' || record === null || Object.getPrototypeOf(record) !== Object.prototype) return false;
  const r = record as Record<string, unknown>;
  return !Object.hasOwn(r, ROUTER_DEFAULTS.originalTimestampKey) && typeof r.toJSON !== 'function';
}

// the record's JSON text (`text`, the source's, or serialized here) with `appended` (text of keys that come right
// after the record's own) and the added keys; '' when a key is present with a null value or the tag key must be
// overwritten, which the object path handles
export function serializeFast(
  rule: CompiledRule,
  record: Record<string, unknown>,
  time: number,
  tag: string,
  appended: string,
  text?: string,
): string {
  let extra = appended;
  for (let i = 0; i < rule.enrich.length; i++) {
    const v = record[rule.enrich[i][0]];
    if (v === undefined) extra += rule.enrichJson[i];
    else if (v === null) return '';
  }
  if (rule.timestampKey !== '') {
    const v = record[rule.timestampKey];
    if (v === undefined) {
      const ts = isoTime(time);
      if (ts !== undefined) extra += rule.timestampPrefix + ts + '"';
    } else if (v === null) return '';
  }
  const status = record.status;
  if (status === undefined) {
    const s = statusOf(record.code);
    if (s !== undefined) extra += ',"status":"' + s + '"';
  } else if (status === null) return '';
  if (rule.tagKey !== null) {
    if (record[rule.tagKey] !== undefined) return '';
    extra += rule.tagPrefix + JSON.stringify(tag);
  }
  const json = text ?? stringify(record);
  if (extra === '') return json;
  if (json === '{}') return '{' + extra.slice(1) + '}';
  return json.slice(0, -1) + extra + '}';
}

// the same item as an object (a shallow copy: nested values are shared with the record, never written).
// added keys go at the end in a fixed order, so both paths give the same text.
export function buildItem(
  rule: CompiledRule,
  record: Record<string, unknown>,
  rec: SourceRecord,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...record };
  for (const [k, v] of rule.enrich) if (out[k] == null) put(out, k, v);
  if (rule.timestampKey !== '' && out[rule.timestampKey] == null) {
    const ts = isoTime(rec.time);
    if (ts !== undefined) put(out, rule.timestampKey, ts);
  }
  if (out.status == null) {
    const s = statusOf(record.code);
    if (s !== undefined) put(out, 'status', s);
  }
  if (rule.tagKey !== null) put(out, rule.tagKey, rec.tag);
  return out;
}

// delete first so an overwritten key moves to the end, as on the text path
function put(o: Record<string, unknown>, k: string, v: unknown): void {
  delete o[k];
  o[k] = v;
}

export function statusOf(code: unknown): string | undefined {
  if (typeof code !== 'string' || !CODE_RE.test(code)) return undefined;
  return STATUS_BY_LETTER[code[code.length - 1]];
}

// Date#toISOString costs ~0.5 µs, a third of the whole route; events come in time order, so format the
// date once per day and the time of day by hand. two days are kept: a restamp formats the event's day and
// today's in turn. the memo is a pure function's cache, not state.
const DAY_MS = 86_400_000;
let memoDay = NaN;
let memoPrefix = '';
let memoDay2 = NaN;
let memoPrefix2 = '';

/** the same text as `new Date(ms).toISOString()`, or undefined where that would throw */
export function isoTime(ms: number): string | undefined {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) return undefined;
  const t = Math.trunc(ms) + 0; // + 0 turns -0 into 0
  const day = Math.floor(t / DAY_MS);
  if (day !== memoDay) {
    const day2 = memoDay2;
    const prefix2 = memoPrefix2;
    memoDay2 = memoDay;
    memoPrefix2 = memoPrefix;
    if (day === day2) memoPrefix = prefix2;
    else {
      const iso = new Date(day * DAY_MS).toISOString();
      memoPrefix = iso.slice(0, iso.indexOf('T') + 1);
    }
    memoDay = day;
  }
  let r = t - day * DAY_MS;
  const h = Math.floor(r / 3_600_000);
  r -= h * 3_600_000;
  const m = Math.floor(r / 60_000);
  r -= m * 60_000;
  const sec = Math.floor(r / 1000);
  const milli = r - sec * 1000;
  return `${memoPrefix}${pad2(h)}:${pad2(m)}:${pad2(sec)}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

export function stringify(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch (err) {
    if (!(err instanceof TypeError) || !/BigInt/i.test(err.message)) throw err;
    return toJson(v);
  }
}

// UTF-8 bytes >= UTF-16 length >= UTF-8 bytes / 3: only count bytes when the length cannot decide
export function fits(json: string, max: number): boolean {
  if (json.length > max) return false;
  if (json.length * 3 <= max) return true;
  return Buffer.byteLength(json, 'utf8') <= max;
}
