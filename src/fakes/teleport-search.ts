// the legacy paged search (GetUnstructuredEvents) over several time-ordered event sources, as the real
// backends do it: both ends of the window are inclusive (`event_time BETWEEN from AND to`), the order is
// (time, source, position), a page stops at `limit` items or at a byte cap, and the next-page key is set only
// when the page stopped early (so a full last page is followed by an empty one).
import type { EventRun, FakeEvent } from './teleport-dataset.js';

/** one ordered source: `pos(i)` ascends with i among equal times (the dataset index, or an insertion number) */
export interface SearchSource {
  run: EventRun;
  pos(i: number): number;
}

/** a position in the merged order */
export interface SearchKey {
  t: number;
  src: number;
  pos: number;
}

export interface SearchQuery {
  fromMs: number;
  toMs: number;
  /** event types to keep; empty = all */
  types: readonly string[];
  limit: number;
  ascending: boolean;
  /** continue after this key (from the previous page's last key) */
  after?: SearchKey;
  /** encoded bytes a page may hold; the first item always fits */
  maxBytes: number;
}

export interface SearchPage {
  items: Buffer[];
  /** where the next page starts; undefined when the window is exhausted */
  last?: SearchKey;
}

const cmp = (a: SearchKey, b: SearchKey): number => a.t - b.t || a.src - b.src || a.pos - b.pos;

/** first i in [0, n) where `pred` holds, for a predicate that is false then true */
function lowerBound(n: number, pred: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** one page of the merged search; `encode` turns a kept event into its EventUnstructured bytes */
export function searchPage(
  sources: readonly SearchSource[],
  q: SearchQuery,
  encode: (e: FakeEvent) => Buffer,
): SearchPage {
  const keyOf = (s: number, i: number): SearchKey => ({
    t: sources[s]!.run.timeAt(i),
    src: s,
    pos: sources[s]!.pos(i),
  });
  const types = q.types.length > 0 ? new Set(q.types) : undefined;
  // the bound every result lies strictly beyond: the window edge, or the previous page's last key
  const edge: SearchKey = q.ascending
    ? { t: q.fromMs, src: -1, pos: -Infinity }
    : { t: q.toMs, src: Infinity, pos: Infinity };
  const bound = q.after && (q.ascending ? cmp(q.after, edge) > 0 : cmp(q.after, edge) < 0) ? q.after : edge;
  const at = sources.map((source, s) => {
    const first = lowerBound(source.run.length, (i) => cmp(keyOf(s, i), bound) > 0);
    return q.ascending ? first : lowerBound(source.run.length, (i) => cmp(keyOf(s, i), bound) >= 0) - 1;
  });

  const items: Buffer[] = [];
  let bytes = 0;
  let lastKey: SearchKey | undefined;
  for (;;) {
    // the next event in merged order
    let best = -1;
    let bestKey: SearchKey | undefined;
    for (let s = 0; s < sources.length; s++) {
      const i = at[s]!;
      if (i < 0 || i >= sources[s]!.run.length) continue;
      const k = keyOf(s, i);
      if (!bestKey || (q.ascending ? cmp(k, bestKey) < 0 : cmp(k, bestKey) > 0)) {
        best = s;
        bestKey = k;
      }
    }
    if (!bestKey || (q.ascending ? bestKey.t > q.toMs : bestKey.t < q.fromMs)) return { items };
    const i = at[best]!;
    at[best] = q.ascending ? i + 1 : i - 1;
    const run = sources[best]!.run;
    if (types && !types.has(run.typeAt(i))) continue;
    const item = encode(run.eventAt(i));
    if (items.length > 0 && bytes + item.length > q.maxBytes) return { items, last: lastKey };
    items.push(item);
    bytes += item.length;
    lastKey = bestKey;
    if (items.length >= q.limit) return { items, last: lastKey };
  }
}

/** the opaque `last_key` / `start_key` string of a key */
export function encodeSearchKey(k: SearchKey): string {
  return Buffer.from(`k1:${k.t}:${k.src}:${k.pos}`, 'utf8').toString('base64url');
}

/** parses a `start_key`; undefined when it is not one of ours */
export function decodeSearchKey(s: string): SearchKey | undefined {
  const m = /^k1:(-?\d+):(\d+):(\d+)$/.exec(Buffer.from(s, 'base64url').toString('utf8'));
  if (!m) return undefined;
  return { t: Number(m[1]), src: Number(m[2]), pos: Number(m[3]) };
}

/** events added at run time, kept sorted by (time, insertion number) so they can be searched beside a dataset */
export class LiveEvents implements SearchSource {
  private readonly list: Array<{ e: FakeEvent; seq: number }> = [];
  private seq = 0;
  readonly run: EventRun;

  constructor() {
    const list = this.list;
    this.run = {
      get length() {
        return list.length;
      },
      timeAt: (i) => list[i]!.e.timeMs,
      typeAt: (i) => list[i]!.e.type,
      eventAt: (i) => list[i]!.e,
    };
  }

  pos(i: number): number {
    return this.list[i]!.seq;
  }

  add(e: FakeEvent): void {
    const at = lowerBound(this.list.length, (i) => this.list[i]!.e.timeMs > e.timeMs);
    this.list.splice(at, 0, { e, seq: this.seq++ });
  }
}
