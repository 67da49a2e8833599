// teleport's audit log responses decoded straight from the protobuf wire format into plain objects, as grpc-js
// response deserializers. proto-loader would build a google.protobuf.Struct/Value wrapper per field and then a
// walk would copy it into JSON: a quarter of the poller's cpu went to that and its garbage. the result is the
// same as that path's (events.ts decodeEvent over proto-loader's objects), quirks included: for a message or
// oneof field seen twice the last one wins (no merge), a Value with several kinds set is read as
// struct > list > string > number > bool, a map entry without a value is an error.
// field numbers: proto/teleport/auditlog/v1/auditlog.proto, google/protobuf/{struct,timestamp}.proto.

export interface WireEvent {
  type: string;
  id: string;
  /** ms of the event's timestamp; undefined when it has none or it is not after 1970 */
  time: number | undefined;
  index: number;
  /** the Struct as a plain object */
  unstructured: Record<string, unknown>;
}

export interface WireExportEvent {
  /** null when the message has none */
  event: WireEvent | null;
  cursor: string;
}

export interface WirePage {
  items: WireEvent[];
  lastKey: string;
}

// the reader: one message is decoded synchronously from start to end, so a module-level cursor is safe
let buf: Buffer = Buffer.alloc(0);
let pos = 0;

function fail(what: string): never {
  throw new RangeError(`teleport response: ${what} at byte ${pos} of ${buf.length}`);
}

function start(b: Buffer): void {
  buf = b;
  pos = 0;
}

/** the low 32 bits of a varint, unsigned; the rest of a longer varint is skipped */
function uint32(): number {
  let b = buf[pos++]!;
  if (b < 0x80) return b;
  let v = b & 0x7f;
  b = buf[pos++]!;
  v |= (b & 0x7f) << 7;
  if (b < 0x80) return v;
  b = buf[pos++]!;
  v |= (b & 0x7f) << 14;
  if (b < 0x80) return v;
  b = buf[pos++]!;
  v |= (b & 0x7f) << 21;
  if (b < 0x80) return v;
  b = buf[pos++]!;
  v |= (b & 0x0f) << 28;
  if (b < 0x80) return v >>> 0;
  // int32 negatives and uint64 are 10 bytes long
  for (let i = 0; i < 5; i++) if (buf[pos++]! < 0x80) return v >>> 0;
  return fail('varint too long');
}

/** an int64 varint as the nearest double (what Number() of proto-loader's decimal string gives) */
function int64(): number {
  let b = 0;
  let lo = 0;
  let hi = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    b = buf[pos++]!;
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) return lo >>> 0;
  }
  b = buf[pos++]!;
  lo |= (b & 0x0f) << 28;
  hi = (b & 0x7f) >> 4;
  if (b >= 0x80) {
    let shift = 3;
    for (let i = 0; ; i++) {
      if (i === 5) fail('varint too long');
      b = buf[pos++]!;
      hi |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) break;
    }
  }
  // hi * 2^32 is exact, so the sum is rounded once, like Number() of the exact decimal
  return (hi | 0) * 4294967296 + (lo >>> 0);
}

/** the end of a length-delimited field starting here */
function limit(): number {
  const n = uint32();
  const end = pos + n;
  if (end > buf.length) fail('truncated message');
  return end;
}

// node's Buffer has the slice methods Buffer#toString calls after checking its arguments
type SliceBuffer = Buffer & {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
};

function string(): string {
  const end = limit();
  const s = (buf as SliceBuffer).utf8Slice(pos, end);
  pos = end;
  return s;
}

// struct keys repeat from event to event: short ascii ones come from a cache, so the same (internalized)
// string is used each time and no new one is made
const KEY_CACHE_SIZE = 1024; // slots, a power of 2
const MAX_CACHED_KEY = 40; // bytes
const keyCache: string[] = new Array<string>(KEY_CACHE_SIZE).fill('');

function key(): string {
  const end = limit();
  const n = end - pos;
  if (n > MAX_CACHED_KEY) return sliceTo(end);
  let h = n;
  for (let i = pos; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x80) return sliceTo(end);
    h = Math.imul(h ^ c, 0x01000193);
  }
  const slot = (h ^ (h >>> 15)) & (KEY_CACHE_SIZE - 1);
  const cached = keyCache[slot]!;
  if (cached.length === n) {
    let i = 0;
    while (i < n && cached.charCodeAt(i) === buf[pos + i]) i++;
    if (i === n) {
      pos = end;
      return cached;
    }
  }
  const s = (buf as SliceBuffer).latin1Slice(pos, end);
  keyCache[slot] = s;
  pos = end;
  return s;
}

function sliceTo(end: number): string {
  const s = (buf as SliceBuffer).utf8Slice(pos, end);
  pos = end;
  return s;
}

function skip(wire: number): void {
  switch (wire) {
    case 0:
      while (buf[pos++]! >= 0x80) if (pos >= buf.length) fail('truncated varint');
      break;
    case 1:
      pos += 8;
      break;
    case 2:
      pos = limit();
      break;
    case 3:
      // a group: skip fields up to its end tag
      for (;;) {
        const t = uint32();
        if ((t & 7) === 4) break;
        skip(t & 7);
      }
      break;
    case 5:
      pos += 4;
      break;
    default:
      fail(`invalid wire type ${wire}`);
  }
  if (pos > buf.length) fail('truncated message');
}

/** google.protobuf.Struct: fields = 1 (map<string, Value>: key = 1, value = 2) */
function struct(end: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  while (pos < end) {
    const t = uint32();
    if (t >>> 3 !== 1) {
      skip(t & 7);
      continue;
    }
    const entryEnd = limit();
    let k = '';
    let value: unknown;
    let hasValue = false;
    while (pos < entryEnd) {
      const et = uint32();
      if (et >>> 3 === 1) k = key();
      else if (et >>> 3 === 2) {
        value = valueOf(limit());
        hasValue = true;
      } else skip(et & 7);
    }
    if (pos !== entryEnd) fail('bad map entry');
    if (!hasValue) fail(`struct field "${k}" without a value`);
    // a plain assignment, as the proto-loader path does (a `__proto__` key sets the prototype there too)
    out[k] = value;
  }
  if (pos !== end) fail('bad struct');
  return out;
}

// a Value's kinds, in the order valueToJs prefers them when several are set
const K_NONE = 0;
const K_BOOL = 1;
const K_NUMBER = 2;
const K_STRING = 3;
const K_LIST = 4;
const K_STRUCT = 5;

/**
 * google.protobuf.Value: null_value = 1, number_value = 2, string_value = 3, bool_value = 4, struct_value = 5,
 * list_value = 6. one kind is the norm; several (the last of each) resolve by preference
 */
function valueOf(end: number): unknown {
  let kind = K_NONE;
  let n = 0;
  let str = '';
  let bool = false;
  let list: unknown[] | null = null;
  let obj: Record<string, unknown> | null = null;
  while (pos < end) {
    const t = uint32();
    switch (t >>> 3) {
      case 1:
        uint32();
        break;
      case 2:
        if (pos + 8 > end) fail('truncated double');
        n = buf.readDoubleLE(pos);
        pos += 8;
        if (kind < K_NUMBER) kind = K_NUMBER;
        break;
      case 3:
        str = string();
        if (kind < K_STRING) kind = K_STRING;
        break;
      case 4:
        bool = uint32() !== 0;
        if (kind < K_BOOL) kind = K_BOOL;
        break;
      case 5:
        obj = struct(limit());
        kind = K_STRUCT;
        break;
      case 6:
        list = listOf(limit());
        if (kind < K_LIST) kind = K_LIST;
        break;
      default:
        skip(t & 7);
    }
  }
  if (pos !== end) fail('bad value');
  switch (kind) {
    case K_STRUCT:
      return obj;
    case K_LIST:
      return list;
    case K_STRING:
      return str;
    case K_NUMBER:
      return n;
    case K_BOOL:
      return bool;
    default:
      return null;
  }
}

/** google.protobuf.ListValue: values = 1 */
function listOf(end: number): unknown[] {
  const out: unknown[] = [];
  while (pos < end) {
    const t = uint32();
    if (t >>> 3 === 1) out.push(valueOf(limit()));
    else skip(t & 7);
  }
  if (pos !== end) fail('bad list');
  return out;
}

/** google.protobuf.Timestamp (seconds = 1, nanos = 2) as ms, like events.ts timestampMs */
function timestamp(end: number): number | undefined {
  let seconds = 0;
  let nanos = 0;
  while (pos < end) {
    const t = uint32();
    if (t >>> 3 === 1) seconds = int64();
    else if (t >>> 3 === 2) nanos = uint32() | 0;
    else skip(t & 7);
  }
  if (pos !== end) fail('bad timestamp');
  const ms = seconds * 1000 + Math.floor(nanos / 1e6);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** EventUnstructured: type = 1, id = 2, time = 3, index = 4 (int64), unstructured = 5 */
function event(end: number): WireEvent {
  let type = '';
  let id = '';
  let time: number | undefined;
  let index = 0;
  let unstructured: Record<string, unknown> | null = null;
  while (pos < end) {
    const t = uint32();
    switch (t >>> 3) {
      case 1:
        type = string();
        break;
      case 2:
        id = string();
        break;
      case 3:
        time = timestamp(limit());
        break;
      case 4:
        index = int64();
        break;
      case 5:
        unstructured = struct(limit());
        break;
      default:
        skip(t & 7);
    }
  }
  if (pos !== end) fail('bad event');
  return { type, id, time, index, unstructured: unstructured ?? {} };
}

/** an EventUnstructured message (StreamUnstructuredSessionEvents' stream element) */
export function decodeEventMessage(b: Buffer): WireEvent {
  start(b);
  return event(b.length);
}

/** an ExportEventUnstructured message: event = 1, cursor = 2 */
export function decodeExportEvent(b: Buffer): WireExportEvent {
  start(b);
  let ev: WireEvent | null = null;
  let cursor = '';
  while (pos < b.length) {
    const t = uint32();
    if (t >>> 3 === 1) ev = event(limit());
    else if (t >>> 3 === 2) cursor = string();
    else skip(t & 7);
  }
  if (pos !== b.length) fail('bad message');
  return { event: ev, cursor };
}

/** an EventsUnstructured page (GetUnstructuredEvents): items = 1, last_key = 2 */
export function decodeEventsPage(b: Buffer): WirePage {
  start(b);
  const items: WireEvent[] = [];
  let lastKey = '';
  while (pos < b.length) {
    const t = uint32();
    if (t >>> 3 === 1) items.push(event(limit()));
    else if (t >>> 3 === 2) lastKey = string();
    else skip(t & 7);
  }
  if (pos !== b.length) fail('bad message');
  return { items, lastKey };
}
