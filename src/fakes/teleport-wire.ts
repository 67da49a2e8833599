// protobuf encoding of the audit log responses straight from event JSON, so the fake serves a million events
// without building google.protobuf.Struct object trees for protobufjs. field numbers follow
// proto/teleport/auditlog/v1/auditlog.proto and google/protobuf/{struct,timestamp}.proto; tests decode the
// bytes with @grpc/proto-loader to prove they match.
import type { FakeEvent } from './teleport-dataset.js';

// wire types: 0 varint, 1 fixed64, 2 length-delimited
const tag = (field: number, wire: number): number => (field << 3) | wire;
const LEN = 2;

const varintLen = (n: number): number => {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
};

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 128) {
    buf[pos++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

// short ascii strings are measured and copied in js: calling into Buffer's native utf8 code costs more
const SHORT = 64;
function utf8Len(s: string): number {
  const n = s.length;
  if (n > SHORT) return Buffer.byteLength(s, 'utf8');
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return n;
}

/** writes `s` whose utf-8 length is `len`; equal lengths mean every char is ascii */
function writeUtf8(buf: Buffer, pos: number, s: string, len: number): number {
  if (len !== s.length || len > SHORT) return pos + buf.write(s, pos, len, 'utf8');
  for (let i = 0; i < len; i++) buf[pos + i] = s.charCodeAt(i);
  return pos + len;
}

// two passes over the JSON: `measure` records string byte lengths and nested message sizes in pre-order,
// `write` consumes them in the same order to emit length prefixes before the content
let sizes: number[] = [];
let sp = 0;

type JsonValue = unknown;

/** size of a google.protobuf.Value message for `v` (JSON semantics: undefined, functions, NaN become null) */
function measureValue(v: JsonValue): number {
  switch (typeof v) {
    case 'string': {
      const n = utf8Len(v);
      sizes.push(n);
      return 1 + varintLen(n) + n;
    }
    case 'number':
      return Number.isFinite(v) ? 9 : 2;
    case 'boolean':
      return 2;
    case 'object': {
      if (v === null) return 2;
      const slot = sizes.length;
      sizes.push(0);
      const n = Array.isArray(v) ? measureList(v) : measureStruct(v as Record<string, unknown>);
      sizes[slot] = n;
      return 1 + varintLen(n) + n;
    }
    default:
      return 2;
  }
}

function measureList(list: readonly JsonValue[]): number {
  let n = 0;
  for (const item of list) {
    const s = measureValue(item);
    n += 1 + varintLen(s) + s;
  }
  return n;
}

/** size of a google.protobuf.Struct message: map<string, Value> fields = 1 */
function measureStruct(obj: Record<string, unknown>): number {
  let n = 0;
  for (const key in obj) {
    const v = obj[key];
    if (v === undefined || typeof v === 'function') continue;
    const k = utf8Len(key);
    sizes.push(k);
    const s = measureValue(v);
    const entry = 1 + varintLen(k) + k + 1 + varintLen(s) + s;
    n += 1 + varintLen(entry) + entry;
  }
  return n;
}

/** the size of Value `v` from its recorded slot, without consuming it */
function valueSize(v: JsonValue, slot: number): number {
  switch (typeof v) {
    case 'string':
      return 1 + varintLen(slot) + slot;
    case 'number':
      return Number.isFinite(v) ? 9 : 2;
    case 'boolean':
      return 2;
    case 'object':
      return v === null ? 2 : 1 + varintLen(slot) + slot;
    default:
      return 2;
  }
}

function writeValue(buf: Buffer, pos: number, v: JsonValue): number {
  switch (typeof v) {
    case 'string': {
      const n = sizes[sp++]!;
      buf[pos++] = tag(3, LEN);
      pos = writeVarint(buf, pos, n);
      return writeUtf8(buf, pos, v, n);
    }
    case 'number':
      if (Number.isFinite(v)) {
        buf[pos++] = tag(2, 1);
        buf.writeDoubleLE(v, pos);
        return pos + 8;
      }
      break;
    case 'boolean':
      buf[pos++] = tag(4, 0);
      buf[pos++] = v ? 1 : 0;
      return pos;
    case 'object': {
      if (v === null) break;
      const n = sizes[sp++]!;
      const list = Array.isArray(v);
      buf[pos++] = tag(list ? 6 : 5, LEN);
      pos = writeVarint(buf, pos, n);
      return list ? writeList(buf, pos, v) : writeStruct(buf, pos, v as Record<string, unknown>);
    }
  }
  buf[pos++] = tag(1, 0); // null_value: NULL_VALUE
  buf[pos++] = 0;
  return pos;
}

function writeList(buf: Buffer, pos: number, list: readonly JsonValue[]): number {
  for (const item of list) {
    const s = valueSize(item, sizes[sp] ?? 0);
    buf[pos++] = tag(1, LEN);
    pos = writeVarint(buf, pos, s);
    pos = writeValue(buf, pos, item);
  }
  return pos;
}

function writeStruct(buf: Buffer, pos: number, obj: Record<string, unknown>): number {
  for (const key in obj) {
    const v = obj[key];
    if (v === undefined || typeof v === 'function') continue;
    const k = sizes[sp++]!;
    const s = valueSize(v, sizes[sp] ?? 0);
    const entry = 1 + varintLen(k) + k + 1 + varintLen(s) + s;
    buf[pos++] = tag(1, LEN);
    pos = writeVarint(buf, pos, entry);
    buf[pos++] = tag(1, LEN);
    pos = writeVarint(buf, pos, k);
    pos = writeUtf8(buf, pos, key, k);
    buf[pos++] = tag(2, LEN);
    pos = writeVarint(buf, pos, s);
    pos = writeValue(buf, pos, v);
  }
  return pos;
}

interface Measured {
  typeLen: number;
  idLen: number;
  seconds: number;
  nanos: number;
  tsLen: number;
  structLen: number;
  size: number;
}

/** measures an EventUnstructured (fields: type 1, id 2, time 3, index 4, unstructured 5); fills `sizes` */
function measureEvent(e: FakeEvent): Measured {
  sizes = [];
  sp = 0;
  const typeLen = utf8Len(e.type);
  const idLen = utf8Len(e.id);
  const seconds = Math.floor(e.timeMs / 1000);
  const nanos = (e.timeMs - seconds * 1000) * 1_000_000;
  if (seconds < 0) throw new Error(`event time before 1970 is not supported: ${e.timeMs}`);
  const tsLen = (seconds ? 1 + varintLen(seconds) : 0) + (nanos ? 1 + varintLen(nanos) : 0);
  const structLen = measureStruct(e.json);
  let size = 1 + varintLen(tsLen) + tsLen + 1 + varintLen(structLen) + structLen;
  if (typeLen) size += 1 + varintLen(typeLen) + typeLen;
  if (idLen) size += 1 + varintLen(idLen) + idLen;
  if (e.index > 0) size += 1 + varintLen(e.index);
  return { typeLen, idLen, seconds, nanos, tsLen, structLen, size };
}

function writeString(buf: Buffer, pos: number, field: number, s: string, len: number): number {
  if (!len) return pos;
  buf[pos++] = tag(field, LEN);
  pos = writeVarint(buf, pos, len);
  return writeUtf8(buf, pos, s, len);
}

function writeEvent(buf: Buffer, pos: number, e: FakeEvent, m: Measured): number {
  pos = writeString(buf, pos, 1, e.type, m.typeLen);
  pos = writeString(buf, pos, 2, e.id, m.idLen);
  buf[pos++] = tag(3, LEN);
  pos = writeVarint(buf, pos, m.tsLen);
  if (m.seconds) {
    buf[pos++] = tag(1, 0);
    pos = writeVarint(buf, pos, m.seconds);
  }
  if (m.nanos) {
    buf[pos++] = tag(2, 0);
    pos = writeVarint(buf, pos, m.nanos);
  }
  if (e.index > 0) {
    buf[pos++] = tag(4, 0);
    pos = writeVarint(buf, pos, e.index);
  }
  buf[pos++] = tag(5, LEN);
  pos = writeVarint(buf, pos, m.structLen);
  sp = 0;
  return writeStruct(buf, pos, e.json);
}

/** an `EventUnstructured` message (StreamUnstructuredSessionEvents' stream element) */
export function encodeEvent(e: FakeEvent): Buffer {
  const m = measureEvent(e);
  const buf = Buffer.allocUnsafe(m.size);
  const end = writeEvent(buf, 0, e, m);
  if (end !== m.size) throw new Error(`wire encoder size mismatch: ${end} != ${m.size}`);
  return buf;
}

/** an `ExportEventUnstructured` message: event = 1, cursor = 2 */
export function encodeExportEvent(e: FakeEvent, cursor: string): Buffer {
  const m = measureEvent(e);
  const cursorLen = utf8Len(cursor);
  const size = 1 + varintLen(m.size) + m.size + (cursorLen ? 1 + varintLen(cursorLen) + cursorLen : 0);
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  buf[pos++] = tag(1, LEN);
  pos = writeVarint(buf, pos, m.size);
  pos = writeEvent(buf, pos, e, m);
  pos = writeString(buf, pos, 2, cursor, cursorLen);
  if (pos !== size) throw new Error(`wire encoder size mismatch: ${pos} != ${size}`);
  return buf;
}

/** an `EventsUnstructured` page from already encoded `EventUnstructured` items: items = 1, last_key = 2 */
export function encodeEventsPage(items: readonly Buffer[], lastKey: string): Buffer {
  const parts: Buffer[] = [];
  for (const item of items) parts.push(lengthPrefixed(1, item));
  if (lastKey) parts.push(lengthPrefixed(2, Buffer.from(lastKey, 'utf8')));
  return Buffer.concat(parts);
}

/** an `EventExportChunk` message: chunk = 1 */
export function encodeChunk(chunk: string): Buffer {
  return lengthPrefixed(1, Buffer.from(chunk, 'utf8'));
}

function lengthPrefixed(field: number, body: Buffer): Buffer {
  const head = Buffer.allocUnsafe(1 + varintLen(body.length));
  head[0] = tag(field, LEN);
  writeVarint(head, 1, body.length);
  return Buffer.concat([head, body]);
}
