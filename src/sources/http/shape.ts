// a cheap look at a request body before it is parsed: how many records it carries and roughly how many values
// parsing would allocate, so a hostile body (`[{},{},…]`, `[[{},…]]`, msgpack headers that claim huge lengths) is
// refused before it costs seconds of event loop and gigabytes of heap. pure; builds nothing.
// the json scan checks the grammar as it goes and stops at the first thing JSON.parse would refuse ('odd'): the
// parser then fails at that point too, so it never does more work than what was counted.

export interface ShapeBounds {
  /** most records (top-level array elements, ndjson lines, msgpack top-level values) */
  maxRecords: number;
  /** most values: json `{ [ , :` outside strings, msgpack items (a map entry is two) */
  maxCost: number;
}

/** end: read to the end within the bounds; records/cost: that bound was passed; odd: invalid or truncated */
export type ShapeStop = 'end' | 'records' | 'cost' | 'odd';

export interface ShapeScan {
  stop: ShapeStop;
  /** counted so far; exact when stop is 'end' */
  records: number;
  cost: number;
}

export const MIN_COST_BOUND = 100_000;

/**
 * values allowed in one request: 200 a record (a field costs about 2: its `:` and `,`; teleport events have 20 to
 * 100 fields), at least 100,000. each costs at most ~100 bytes of heap once parsed, so the default bound (10,000
 * records) keeps one request's parse under ~200 MB
 */
export function costBound(maxRecords: number): number {
  return Math.max(200 * maxRecords, MIN_COST_BOUND);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const DOT = 0x2e;
const PLUS = 0x2b;

// what the json scan expects next
const VALUE = 0;
const FIRST_VALUE = 1; // after `[`: a value or `]`
const FIRST_KEY = 2; // after `{`: a key or `}`
const KEY = 3;
const AFTER_KEY = 4; // a `:`
const AFTER_VALUE = 5; // `,` or the container's close

const LITERALS = ['true', 'false', 'null'] as const;

const ARRAY = 0;
const OBJECT = 1;

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function isValueStart(c: number): boolean {
  return (
    c === LBRACE || c === LBRACKET || c === QUOTE || c === MINUS || isDigit(c) || c === 0x74 || c === 0x66 || c === 0x6e
  );
}

function skipSpace(text: string, i: number, end: number): number {
  while (i < end && isJsonSpace(text.charCodeAt(i))) i++;
  return i;
}

// finds the next quote for long strings. not text.indexOf: once the scan is optimized, v8 (node 20) was seen
// running that pure builtin on every turn of the loop, quote or not, i.e. a search to the end of a 64 MiB body
// per character (70 s instead of 2 ms). a regex search has an effect (lastIndex), so it runs only where it is
const QUOTE_SEARCH = /"/g;

/** i is just past the opening quote; the index past the closing one, or -1 when it is not before end */
function skipString(text: string, i: number, end: number): number {
  for (;;) {
    // most strings are short: a few characters by hand, then a search
    let q = i;
    const near = Math.min(end, i + 32);
    while (q < near && text.charCodeAt(q) !== QUOTE) q++;
    if (q === near) {
      if (q >= end) return -1;
      QUOTE_SEARCH.lastIndex = q;
      if (!QUOTE_SEARCH.test(text)) return -1;
      q = QUOTE_SEARCH.lastIndex - 1;
      if (q >= end) return -1;
    }
    // an odd run of backslashes before it escapes the quote
    let k = q - 1;
    while (k >= i && text.charCodeAt(k) === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
    i = q + 1;
  }
}

function skipDigits(text: string, i: number, end: number): number {
  while (i < end && isDigit(text.charCodeAt(i))) i++;
  return i;
}

/** a number, true, false or null starting at i; the index past it, or -1 when it is not one */
function skipScalar(text: string, i: number, end: number): number {
  const c = text.charCodeAt(i);
  for (const word of LITERALS) {
    if (c === word.charCodeAt(0)) return i + word.length <= end && text.startsWith(word, i) ? i + word.length : -1;
  }
  let j = i;
  if (c === MINUS) j++;
  if (j >= end) return -1;
  const first = text.charCodeAt(j);
  if (first === ZERO) j++;
  else if (isDigit(first)) j = skipDigits(text, j + 1, end);
  else return -1;
  if (j < end && text.charCodeAt(j) === DOT) {
    const k = skipDigits(text, j + 1, end);
    if (k === j + 1) return -1;
    j = k;
  }
  if (j < end && (text.charCodeAt(j) | 0x20) === 0x65) {
    j++;
    if (j < end && (text.charCodeAt(j) === PLUS || text.charCodeAt(j) === MINUS)) j++;
    const k = skipDigits(text, j, end);
    if (k === j) return -1;
    j = k;
  }
  return j;
}

/**
 * one json value in text[i, end), counting into scan; the index past it, or -1 with scan.stop set.
 * with elements, a top-level object is one record and a top-level array's elements are records, each counted
 * once it is complete (a malformed one is the parser's 400 to report).
 */
function scanValue(
  text: string,
  i: number,
  end: number,
  scan: ShapeScan,
  bounds: ShapeBounds,
  elements: boolean,
): number {
  const stack: number[] = [];
  let expect = VALUE;
  for (;;) {
    if (expect === AFTER_VALUE) {
      if (stack.length === 0) return i;
      // each arrival here at depth 1 of an array is one element just completed
      if (elements && stack.length === 1 && stack[0] === ARRAY && ++scan.records > bounds.maxRecords) {
        scan.stop = 'records';
        return -1;
      }
    }
    i = skipSpace(text, i, end);
    if (i >= end) break;
    const c = text.charCodeAt(i);
    if (expect === AFTER_VALUE) {
      const top = stack[stack.length - 1];
      if (c === COMMA) {
        if (++scan.cost > bounds.maxCost) return overCost(scan);
        expect = top === OBJECT ? KEY : VALUE;
      } else if (c === (top === OBJECT ? RBRACE : RBRACKET)) {
        stack.pop();
      } else {
        break;
      }
      i++;
    } else if (expect === AFTER_KEY) {
      if (c !== COLON) break;
      if (++scan.cost > bounds.maxCost) return overCost(scan);
      expect = VALUE;
      i++;
    } else if (expect === KEY || expect === FIRST_KEY) {
      if (c === QUOTE) {
        i = skipString(text, i + 1, end);
        if (i < 0) break;
        expect = AFTER_KEY;
      } else if (c === RBRACE && expect === FIRST_KEY) {
        stack.pop();
        expect = AFTER_VALUE;
        i++;
      } else {
        break;
      }
    } else if (c === RBRACKET && expect === FIRST_VALUE) {
      stack.pop();
      expect = AFTER_VALUE;
      i++;
    } else if (c === LBRACE || c === LBRACKET) {
      if (++scan.cost > bounds.maxCost) return overCost(scan);
      if (elements && stack.length === 0 && c === LBRACE && ++scan.records > bounds.maxRecords) {
        scan.stop = 'records';
        return -1;
      }
      stack.push(c === LBRACE ? OBJECT : ARRAY);
      expect = c === LBRACE ? FIRST_KEY : FIRST_VALUE;
      i++;
    } else {
      i = c === QUOTE ? skipString(text, i + 1, end) : skipScalar(text, i, end);
      if (i < 0) break;
      expect = AFTER_VALUE;
    }
  }
  // JSON.parse stops here too: truncated, or a character it refuses
  scan.stop = 'odd';
  return -1;
}

function overCost(scan: ShapeScan): number {
  scan.stop = 'cost';
  return -1;
}

/** a json body: one value, a leading byte order mark skipped as the decoder does */
export function scanJson(text: string, bounds: ShapeBounds): ShapeScan {
  const scan: ShapeScan = { stop: 'end', records: 0, cost: 0 };
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const i = scanValue(text, skipSpace(text, start, text.length), text.length, scan, bounds, true);
  if (i >= 0 && skipSpace(text, i, text.length) < text.length) scan.stop = 'odd';
  return scan;
}

/** ndjson: a record a non-blank line (blank as String.prototype.trim sees it, like the decoder) */
export function scanNdjson(text: string, bounds: ShapeBounds): ShapeScan {
  const scan: ShapeScan = { stop: 'end', records: 0, cost: 0 };
  let start = 0;
  while (start <= text.length) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = text.length;
    const i = skipSpace(text, start, nl);
    if (i < nl) {
      // a line of unicode spaces is blank to the decoder; anything else JSON.parse refuses
      if (!isValueStart(text.charCodeAt(i))) {
        if (text.slice(i, nl).trim() !== '') {
          scan.stop = 'odd';
          return scan;
        }
      } else {
        const j = scanValue(text, i, nl, scan, bounds, false);
        if (j < 0) return scan;
        if (skipSpace(text, j, nl) < nl) {
          scan.stop = 'odd';
          return scan;
        }
        // counted once read, so a malformed line past the bound is still the parser's 400
        if (++scan.records > bounds.maxRecords) {
          scan.stop = 'records';
          return scan;
        }
      }
    }
    start = nl + 1;
  }
  return scan;
}

/**
 * a msgpack stream (values one after the other). a top-level map is a record, a top-level array's length is
 * that many. lengths are counted as soon as a header claims them: the decoder allocates an array of the claimed
 * length before reading its elements, so a few bytes of headers claiming millions must not reach it.
 */
export function scanMsgpack(bytes: Uint8Array, bounds: ShapeBounds): ShapeScan {
  const scan: ShapeScan = { stop: 'end', records: 0, cost: 0 };
  const n = bytes.length;
  let pos = 0;
  // values still owed to open arrays and maps
  let pending = 0;
  // a big-endian unsigned length of w bytes at pos (-1 past the end); 8-byte values are skipped, never read
  const uint = (w: number): number => {
    if (pos + w > n) return -1;
    let v = 0;
    for (let k = 0; k < w; k++) v = v * 256 + bytes[pos + k]!;
    pos += w;
    return v;
  };
  while (pos < n) {
    const topLevel = pending === 0;
    const h = bytes[pos++]!;
    if (!topLevel) pending--;
    scan.cost++;
    // children claimed (map entries twice), bytes of payload to skip
    let children = 0;
    let isMap = false;
    let skip = 0;
    if (h <= 0x7f || h >= 0xe0) {
      // positive and negative fixint
    } else if (h <= 0x8f) {
      children = 2 * (h & 0x0f);
      isMap = true;
    } else if (h <= 0x9f) {
      children = h & 0x0f;
    } else if (h <= 0xbf) {
      skip = h & 0x1f;
    } else if (h === 0xc0 || h === 0xc2 || h === 0xc3) {
      // nil, false, true
    } else if (h >= 0xc4 && h <= 0xc6) {
      skip = uint(1 << (h - 0xc4)); // bin 8/16/32
    } else if (h >= 0xc7 && h <= 0xc9) {
      const len = uint(1 << (h - 0xc7)); // ext 8/16/32: then a type byte
      skip = len < 0 ? -1 : len + 1;
    } else if (h === 0xca || h === 0xcb) {
      skip = h === 0xca ? 4 : 8;
    } else if (h >= 0xcc && h <= 0xd3) {
      skip = 1 << ((h - 0xcc) & 3); // uint and int 8/16/32/64
    } else if (h >= 0xd4 && h <= 0xd8) {
      skip = 1 + (1 << (h - 0xd4)); // fixext 1/2/4/8/16 and its type byte
    } else if (h >= 0xd9 && h <= 0xdb) {
      skip = uint(1 << (h - 0xd9)); // str 8/16/32
    } else if (h === 0xdc || h === 0xdd) {
      children = uint(h === 0xdc ? 2 : 4);
    } else if (h === 0xde || h === 0xdf) {
      const len = uint(h === 0xde ? 2 : 4);
      children = len < 0 ? -1 : 2 * len;
      isMap = true;
    } else {
      // 0xc1 is never used
      skip = -1;
    }
    if (skip < 0 || children < 0) {
      scan.stop = 'odd';
      return scan;
    }
    if (topLevel) {
      scan.records += isMap ? 1 : children;
      if (scan.records > bounds.maxRecords) {
        scan.stop = 'records';
        return scan;
      }
    }
    pending += children;
    if (scan.cost + pending > bounds.maxCost) {
      scan.stop = 'cost';
      return scan;
    }
    pos += skip;
  }
  if (pos > n || pending > 0) scan.stop = 'odd';
  return scan;
}
