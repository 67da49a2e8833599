// make a Datadog log item fit its per-log byte limit without breaking the JSON.
// only called when the serialized item is over the limit, so clarity beats speed here.
//
// 1. cut strings: find the largest cap C (in JSON bytes) such that cutting every string longer than C down to C
//    plus a marker saves enough; strings anywhere in the tree count (teleport `print` events carry a big base64
//    `data`). cuts land on a character boundary (never inside a surrogate pair or an escape).
//    strings shorter than the marker are never cut, so short attributes (status, timestamps) survive.
// 2. if cutting every string cannot save enough (e.g. a huge number of keys), drop whole top-level values,
//    largest first but the `keep` keys last, and say which in DROPPED_KEY.
// either way TRUNCATED_KEY is set to true. both names are prefixed with `tdf_` (teleport-datadog-forwarder):
// a bare `truncated` is a plausible field of a user's own record.

/** top-level boolean attribute set on every log item the forwarder had to shrink */
export const TRUNCATED_KEY = 'tdf_truncated';
/** top-level string attribute naming the values dropped when cutting strings was not enough */
export const DROPPED_KEY = 'tdf_dropped';

const MARKER_PREFIX = '…[truncated by teleport-datadog-forwarder: ';
const NAMES_IN_NOTE = 5;
const NAME_CHARS = 40;
// upper bound of the JSON bytes DROPPED_KEY and TRUNCATED_KEY add, names sanitized and capped as above
const NOTE_RESERVE = 512;
/** the smallest limit that always leaves room for the truncation note */
export const MIN_FIT_BYTES = 1024;

type Json = Record<string, unknown>;
type Key = string | number;

interface Leaf {
  path: Key[];
  value: string;
  /** JSON bytes of the string's content, without the quotes */
  cost: number;
  /** upper bound of the marker's JSON bytes for this string */
  marker: number;
}

// JSON has no bigint (msgpack int64 may decode to one): write it as a string rather than fail the record
const bigintAsString = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

/** JSON.stringify that writes bigints as strings */
export function toJson(v: unknown): string {
  return JSON.stringify(v, bigintAsString);
}

export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * returns the JSON text of `item` (or of a shrunk copy of it) within `maxBytes` UTF-8 bytes.
 * `item` must be an object the caller owns at the top level; nested values are never modified.
 * `keep` lists top-level keys that are dropped last, when cutting strings is not enough.
 */
export function fitJson(item: Json, maxBytes: number, keep: ReadonlySet<string> = new Set()): string {
  if (maxBytes < MIN_FIT_BYTES) throw new RangeError(`maxBytes must be at least ${MIN_FIT_BYTES}`);
  const flagged = copyObject(item);
  setOwn(flagged, TRUNCATED_KEY, true);
  const json = toJson(flagged);
  const need = utf8Bytes(json) - maxBytes;
  if (need <= 0) return json;

  const cut = cutStrings(flagged, need);
  if (cut !== undefined) {
    const text = toJson(cut);
    if (utf8Bytes(text) <= maxBytes) return text;
  }
  return dropValues(item, maxBytes, keep);
}

function cutStrings(root: Json, need: number): Json | undefined {
  const leaves: Leaf[] = [];
  collect(root, [], leaves);
  if (leaves.length === 0) return undefined;

  const savings = (cap: number): number => {
    let sum = 0;
    for (const l of leaves) {
      const s = l.cost - cap - l.marker;
      if (s > 0) sum += s;
    }
    return sum;
  };
  if (savings(0) < need) return undefined;
  // the largest cap that still saves enough: savings() falls as the cap grows
  let lo = 0;
  let hi = 0;
  for (const l of leaves) if (l.cost > hi) hi = l.cost;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (savings(mid) >= need) lo = mid;
    else hi = mid - 1;
  }
  const cap = lo;

  const clones = new Map<object, Json | unknown[]>();
  const cloneOf = (o: object): Json | unknown[] => {
    let c = clones.get(o);
    if (c === undefined) {
      c = Array.isArray(o) ? o.slice() : copyObject(o as Json);
      clones.set(o, c);
    }
    return c;
  };
  const out = cloneOf(root) as Json;
  for (const l of leaves) {
    if (l.cost - cap - l.marker <= 0) continue;
    let orig: unknown = root;
    let copy: unknown = out;
    for (let d = 0; d < l.path.length - 1; d++) {
      const k = l.path[d];
      const child = (orig as Record<Key, unknown>)[k] as object;
      const childCopy = cloneOf(child);
      setOwn(copy as Record<Key, unknown>, k, childCopy);
      orig = child;
      copy = childCopy;
    }
    setOwn(copy as Record<Key, unknown>, l.path[l.path.length - 1], cutString(l.value, cap));
  }
  return out;
}

function collect(value: unknown, path: Key[], leaves: Leaf[]): void {
  if (typeof value === 'string') {
    const cost = utf8Bytes(toJson(value)) - 2;
    leaves.push({ path: path.slice(), value, cost, marker: markerBytes(utf8Bytes(value)) });
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      collect(value[i], path, leaves);
      path.pop();
    }
    return;
  }
  if (!isPlainObject(value)) return;
  for (const k of Object.keys(value)) {
    if (path.length === 0 && k === TRUNCATED_KEY) continue;
    path.push(k);
    collect(value[k], path, leaves);
    path.pop();
  }
}

function marker(removedBytes: number): string {
  return `${MARKER_PREFIX}${removedBytes} bytes removed]`;
}

// the marker is plain ASCII apart from the ellipsis, so its JSON cost is its UTF-8 length
function markerBytes(maxRemoved: number): number {
  return utf8Bytes(marker(maxRemoved));
}

/** keeps the longest prefix of `s` whose JSON-escaped content fits `budget` bytes, then appends the marker */
export function cutString(s: string, budget: number): string {
  let used = 0;
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    let w: number;
    let n = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLow(s.charCodeAt(i + 1))) {
      w = 4;
      n = 2;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      w = 6; // a lone surrogate is written as \udxxx
    } else {
      w = escapedBytes(c);
    }
    if (used + w > budget) break;
    used += w;
    i += n;
  }
  const kept = s.slice(0, i);
  return kept + marker(utf8Bytes(s) - utf8Bytes(kept));
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

// JSON.stringify's escaping, in UTF-8 bytes, for one non-surrogate UTF-16 unit
function escapedBytes(c: number): number {
  if (c < 0x20) return c === 8 || c === 9 || c === 10 || c === 12 || c === 13 ? 2 : 6;
  if (c === 0x22 || c === 0x5c) return 2;
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  return 3;
}

function dropValues(item: Json, maxBytes: number, keep: ReadonlySet<string>): string {
  const entries: Array<{ key: string; bytes: number; kept: boolean }> = [];
  let total = 2; // {}
  for (const key of Object.keys(item)) {
    if (key === TRUNCATED_KEY || key === DROPPED_KEY) continue;
    const v = toJson(item[key]);
    if (v === undefined) continue;
    const bytes = utf8Bytes(toJson(key)) + 1 + utf8Bytes(v);
    total += bytes + (entries.length > 0 ? 1 : 0);
    entries.push({ key, bytes, kept: keep.has(key) });
  }
  // droppable first (largest first), then the kept ones (largest first)
  const order = entries.slice().sort((a, b) => (a.kept === b.kept ? b.bytes - a.bytes : a.kept ? 1 : -1));
  const dropped = new Set<string>();
  let removed = 0;
  for (const e of order) {
    if (total + NOTE_RESERVE <= maxBytes) break;
    dropped.add(e.key);
    removed += e.bytes;
    total -= e.bytes + 1;
  }
  const out: Json = {};
  for (const key of Object.keys(item)) {
    if (!dropped.has(key) && key !== TRUNCATED_KEY && key !== DROPPED_KEY) setOwn(out, key, item[key]);
  }
  setOwn(out, TRUNCATED_KEY, true);
  setOwn(out, DROPPED_KEY, dropNote([...dropped], removed, maxBytes));
  return toJson(out);
}

function dropNote(keys: string[], removed: number, maxBytes: number): string {
  const names = keys
    .slice(0, NAMES_IN_NOTE)
    .map((k) => k.slice(0, NAME_CHARS).replace(/[^\w.@:-]/g, '?'))
    .join(', ');
  const more = keys.length > NAMES_IN_NOTE ? `, and ${keys.length - NAMES_IN_NOTE} more` : '';
  return (
    `${MARKER_PREFIX}dropped ${keys.length} value(s) (${names}${more}) to fit the ${maxBytes}-byte limit, ` +
    `${removed} bytes removed]`
  );
}

function isPlainObject(v: unknown): v is Json {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function copyObject(o: Json): Json {
  return { ...o };
}

// a plain assignment to `__proto__` would change the prototype instead of writing the key
function setOwn(o: Record<Key, unknown>, k: Key, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  else o[k] = v;
}
