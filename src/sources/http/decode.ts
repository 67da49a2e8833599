// fluentd in_http request decoding: content encoding, body format, event time. pure apart from node:zlib.
// differences from fluentd, on purpose: invalid json is a 400 with the parser's reason (fluentd answers 200
// and drops it), a body that is not an object or array is a 400, and the record keeps its `time` key.
import { promisify } from 'node:util';
import { gunzip, inflate, inflateRaw } from 'node:zlib';
import { decodeMulti } from '@msgpack/msgpack';
import { DecodeError } from '../../errors.js';
import { parseForm } from './form.js';
import { describeBinary, looksBinary, printable } from './preview.js';
import {
  MIN_COST_BOUND,
  costBound,
  scanJson,
  scanMsgpack,
  scanNdjson,
  type ShapeBounds,
  type ShapeScan,
} from './shape.js';
import { eventTime, secondsToMs } from './time.js';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);
const inflateRawAsync = promisify(inflateRaw);

export const PARAMETER_REQUIRED = "'json', 'ndjson' or 'msgpack' parameter is required";

/** what the ingest reads, for the 400s of a request it cannot */
export const ACCEPTED_FORMATS =
  'send JSON with Content-Type: application/json, NDJSON with application/x-ndjson, msgpack with application/msgpack, ' +
  'or a form (application/x-www-form-urlencoded) with a json=, ndjson= or msgpack= field';

/** the media types decodeRequest reads a body of; any other reads the payload from the query string */
export const MEDIA_TYPES = [
  'application/json',
  'application/csp-report',
  'application/msgpack',
  'application/x-ndjson',
  'application/x-www-form-urlencoded',
] as const;

/**
 * fluentd's 400 for a request without a payload, with what was wrong and what is accepted after it. the fluentd
 * text stays first: a client matching it still does. `mediaType` is null when the header could not be parsed.
 */
export function payloadRequired(mediaType: string | null, body?: Buffer): string {
  let why: string;
  if (mediaType === null) why = 'the Content-Type header cannot be parsed';
  else if (mediaType === '') why = 'the request has no Content-Type';
  else if (mediaType === 'application/x-www-form-urlencoded') {
    // curl -d '{"a":1}' posts JSON as a form whose one field is named by the whole document
    const text = body === undefined || looksBinary(body) ? '' : body.subarray(0, 64).toString('utf8').trimStart();
    why =
      text.startsWith('{') || text.startsWith('[')
        ? "the body is JSON sent as a form (curl -d sets Content-Type: application/x-www-form-urlencoded): add -H 'Content-Type: application/json', or send --data-urlencode 'json=<the JSON>'"
        : 'the form has no json=, ndjson= or msgpack= field';
  } else why = `Content-Type ${printable(mediaType, 60)} is not one the ingest reads`;
  const binary = body !== undefined && body.length > 0 && looksBinary(body) ? `; ${describeBinary(body)}` : '';
  return `${PARAMETER_REQUIRED}: ${why}${binary}; ${ACCEPTED_FORMATS}`;
}

export interface DecodeInput {
  /** already derived from the path (see tagFromPath) */
  tag: string;
  contentType?: string;
  contentEncoding?: string;
  body: Buffer;
  query: Record<string, string | string[] | undefined>;
}

export interface DecodeLimits {
  /** bound on the body after content decoding, in bytes */
  maxDecompressedBytes: number;
  /**
   * bound on the records one request may carry (a few KB of `[{},{},…]` is a million records): ingest.max-records.
   * checked before parsing, with a bound of 200 values a record on the whole body (see shape.ts)
   */
  maxRecords: number;
}

export interface DecodedEvent {
  /** epoch ms */
  time: number;
  record: Record<string, unknown>;
  /** the record's text when the body is that one object, on one line (see SourceRecord.text) */
  text: string | undefined;
}

type Payload = { format: 'json' | 'ndjson' | 'msgpack'; data: Buffer | string };

/**
 * the fluentd tag for a request path: `/a/b?x=1` -> `a.b`, `/session.<sid>.log` -> `session.<sid>.log`.
 * null when the tag would be empty or have an empty part (`/`, `/a//b`, `/a/../b`, `/a.`) or odd characters.
 */
/** longest tag accepted, in characters */
export const MAX_TAG_LENGTH = 256;

export function tagFromPath(url: string): string | null {
  let end = url.length;
  const q = url.indexOf('?');
  if (q >= 0) end = q;
  const h = url.indexOf('#');
  if (h >= 0 && h < end) end = h;
  const path = url.slice(url.startsWith('/') ? 1 : 0, end);
  let tag: string;
  try {
    tag = path.includes('%') ? path.split('/').map(decodeURIComponent).join('.') : path.replaceAll('/', '.');
  } catch {
    return null;
  }
  if (tag === '' || tag.startsWith('.') || tag.endsWith('.') || tag.includes('..')) return null;
  // tags are short (`test.log`, `session.<uuid>.log`); a bound keeps matching against patterns with several `**`
  // (which can backtrack polynomially in the tag's length) cheap
  if (tag.length > MAX_TAG_LENGTH) return null;
  // no whitespace, control characters or a slash smuggled in as %2F
  if (/[\s\x00-\x1f\x7f/]/.test(tag)) return null;
  return tag;
}

/** decodes one in_http request into events, in order; throws DecodeError (400, or 413 over the size bound) */
export async function decodeRequest(input: DecodeInput, limits: DecodeLimits, now: number): Promise<DecodedEvent[]> {
  const body = await decodeContent(input.body, input.contentEncoding, limits.maxDecompressedBytes);
  return decodeBody(input, body, limits, now);
}

/** whether the request's body must be decompressed (decodeRequest) before decodePlain can read it */
export function hasContentCoding(input: Pick<DecodeInput, 'contentEncoding'>): boolean {
  const e = input.contentEncoding;
  return e !== undefined && e !== '';
}

/**
 * decodeRequest for a request without a Content-Encoding (what teleport-event-handler sends): synchronous, so the
 * common request costs no await and no promise. throws DecodeError
 */
export function decodePlain(input: DecodeInput, limits: DecodeLimits, now: number): DecodedEvent[] {
  if (hasContentCoding(input)) throw new Error('decodePlain: the body has a content coding, use decodeRequest');
  return decodeBody(input, input.body, limits, now);
}

function decodeBody(input: DecodeInput, body: Buffer, limits: DecodeLimits, now: number): DecodedEvent[] {
  const mediaType = mediaTypeOf(input.contentType);
  let timeParam = firstValue(input.query.time);
  let payload: Payload | null;
  if (mediaType === 'application/x-www-form-urlencoded') {
    const form = parseForm(body);
    const t = form.get('time');
    if (t !== undefined) timeParam = t.toString('utf8');
    payload = fieldPayload((name) => form.get(name)) ?? queryPayload(input.query);
  } else if (mediaType === 'application/json' || mediaType === 'application/csp-report') {
    payload = { format: 'json', data: body };
  } else if (mediaType === 'application/msgpack') {
    payload = { format: 'msgpack', data: body };
  } else if (mediaType === 'application/x-ndjson') {
    payload = { format: 'ndjson', data: body };
  } else {
    // fluentd also reads json= or ndjson= from the query string whatever the body
    payload = queryPayload(input.query);
  }
  if (payload === null) throw new DecodeError(payloadRequired(mediaType, body));
  const { maxRecords } = limits;
  const { records, text } = parsePayload(payload, { maxRecords, maxCost: costBound(maxRecords) });
  // large bodies were counted by the pre-scan; short ones (skipped) are counted here
  if (records.length > maxRecords) {
    throw tooManyRecords(maxRecords);
  }
  const paramMs = timeParam === undefined ? null : secondsToMs(timeParam);
  const events: DecodedEvent[] = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    events[i] = { time: eventTime(paramMs, record, now), record, text };
  }
  return events;
}

function mediaTypeOf(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function fieldPayload(get: (name: string) => Buffer | string | undefined): Payload | null {
  for (const format of ['json', 'ndjson', 'msgpack'] as const) {
    const data = get(format);
    if (data !== undefined) return { format, data };
  }
  return null;
}

function queryPayload(query: DecodeInput['query']): Payload | null {
  // query values arrive already decoded as utf-8 text, which corrupts binary msgpack: only json and ndjson here
  return fieldPayload((name) => (name === 'msgpack' ? undefined : firstValue(query[name])));
}

async function decodeContent(body: Buffer, encoding: string | undefined, max: number): Promise<Buffer> {
  if (encoding === undefined || encoding === '') return body;
  // a list is applied in order, so it is undone from the last coding back to the first
  const codings = encoding
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  let out = body;
  for (let i = codings.length - 1; i >= 0; i--) {
    const coding = codings[i]!;
    const opts = { maxOutputLength: max };
    try {
      if (coding === 'gzip' || coding === 'x-gzip') out = await gunzipAsync(out, opts);
      // http "deflate" is zlib-wrapped, yet some clients send raw deflate: the zlib header tells them apart
      else if (coding === 'deflate') out = await (isZlibHeader(out) ? inflateAsync : inflateRawAsync)(out, opts);
      else
        throw new DecodeError(
          `unsupported Content-Encoding: ${printable(coding, 40)} (gzip and deflate are supported)`,
        );
    } catch (err) {
      if (err instanceof DecodeError) throw err;
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new DecodeError(`decompressed body is larger than ${max} bytes`, 413);
      }
      throw new DecodeError(`invalid ${coding} body: ${(err as Error).message}`);
    }
  }
  return out;
}

function isZlibHeader(b: Buffer): boolean {
  return b.length >= 2 && (b[0]! & 0x0f) === 8 && ((b[0]! << 8) | b[1]!) % 31 === 0;
}

// the bounds are enforced on a scan of the body before it is parsed: parsing 64 MiB of `[{},{},…]` blocks the
// event loop for ~30 s and peaks near 3 GiB before its records could be counted
function parsePayload(p: Payload, bounds: ShapeBounds): Parsed {
  if (p.format === 'msgpack') {
    const bytes = typeof p.data === 'string' ? Buffer.from(p.data, 'utf8') : p.data;
    enforceShape(scanMsgpack(bytes, bounds), bounds, 'msgpack');
    return { records: fromMsgpack(bytes), text: undefined };
  }
  const text = typeof p.data === 'string' ? p.data : p.data.toString('utf8');
  const raw = typeof p.data === 'string' ? undefined : p.data;
  // a text can hold no more values than characters: a short body (one teleport event) skips the scan, and its
  // records are counted after parsing (msgpack is always scanned: its headers claim lengths the body need not hold)
  if (text.length > MIN_COST_BOUND) {
    enforceShape(p.format === 'json' ? scanJson(text, bounds) : scanNdjson(text, bounds), bounds, 'JSON');
  }
  if (p.format === 'ndjson') return { records: fromNdjson(text, raw), text: undefined };
  const records = fromJson(text, raw);
  return { records, text: records.length === 1 && ownText(text) ? text : undefined };
}

/** the records of a body, and the text of the one record when it is the whole body and can stand for it */
interface Parsed {
  records: Array<Record<string, unknown>>;
  text: string | undefined;
}

// a body that parsed to one record is that record's text when it is the object itself (not a one-element array),
// with keys (the router appends after the last one), no space around it and no line break in it (one line per log
// in every dump). the text then carries what the sender wrote: numbers past 2^53 keep their digits. a duplicate
// key stays in it, where the record has the last value: json leaves duplicates undefined, and datadog's parser
// keeps the last one too
function ownText(text: string): boolean {
  return (
    text.charCodeAt(0) === 0x7b && // {
    text.charCodeAt(1) === 0x22 && // "
    text.charCodeAt(text.length - 1) === 0x7d && // }
    text.indexOf('\n') < 0 &&
    text.indexOf('\r') < 0
  );
}

function tooManyRecords(max: number): DecodeError {
  return new DecodeError(
    `more than ${max} records in one request, over the bound of ${max} (ingest.max-records): send them in smaller requests`,
    413,
  );
}

/** 413 over a bound; an invalid or truncated body is left to the parser, whose reason is the 400 */
function enforceShape(scan: ShapeScan, bounds: ShapeBounds, what: 'JSON' | 'msgpack'): void {
  if (scan.stop === 'records') throw tooManyRecords(bounds.maxRecords);
  if (scan.stop === 'cost') {
    throw new DecodeError(
      `the body holds more than ${bounds.maxCost} ${what} values (200 per record allowed by ingest.max-records): send them in smaller requests`,
      413,
    );
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** an object is one record; an array gives its object elements (others skipped, like fluentd) */
function collect(value: unknown, out: Array<Record<string, unknown>>, what: string): void {
  if (isRecord(value)) {
    out.push(value);
  } else if (Array.isArray(value)) {
    for (const v of value) if (isRecord(v)) out.push(v);
  } else {
    throw new DecodeError(`${what} must be an object or an array of objects, got ${kindOf(value)}`);
  }
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return 'binary';
  if (v instanceof Date) return 'a timestamp';
  return typeof v;
}

function parseJson(text: string, where: string, raw: Buffer | undefined): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // v8's message quotes the text around the error: a binary body is described instead, text is cleaned
    if (raw !== undefined && looksBinary(raw)) throw new DecodeError(`invalid JSON: ${describeBinary(raw)}`);
    throw new DecodeError(`invalid JSON${where}: ${printable((err as Error).message, 160)}`);
  }
}

function fromJson(text: string, raw?: Buffer): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  collect(parseJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, '', raw), out, 'the JSON body');
  return out;
}

function fromNdjson(text: string, raw?: Buffer): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  // line by line rather than split('\n'): 64 MiB of newlines would be an array of 64 million strings
  for (let start = 0, n = 1; start <= text.length; n++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let line = text.slice(start, end);
    start = end + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') continue;
    const value = parseJson(line, ` on line ${n}`, raw);
    // one object per line; a line holding anything else is skipped like a non-object array element
    if (isRecord(value)) out.push(value);
  }
  return out;
}

function fromMsgpack(bytes: Buffer): Array<Record<string, unknown>> {
  if (bytes.length === 0) throw new DecodeError('invalid msgpack: the body is empty');
  const out: Array<Record<string, unknown>> = [];
  let n = 0;
  try {
    // several concatenated objects (a msgpack stream) are read one after the other
    for (const value of decodeMulti(bytes)) {
      n++;
      collect(value, out, `msgpack value ${n}`);
    }
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    const reason = err instanceof RangeError ? 'truncated data' : (err as Error).message;
    throw new DecodeError(`invalid msgpack: ${printable(reason, 160)}`);
  }
  for (const r of out) binToText(r);
  return out;
}

// msgpack bin values become text, as fluentd's ruby strings do; a Uint8Array would serialize as {"0":..}
function binToText(root: Record<string, unknown>): void {
  const stack: Array<Record<string, unknown> | unknown[]> = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const keys = Array.isArray(node) ? node.keys() : Object.keys(node);
    for (const k of keys) {
      const v = (node as Record<string | number, unknown>)[k];
      if (v instanceof Uint8Array) {
        (node as Record<string | number, unknown>)[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString(
          'utf8',
        );
      } else if (typeof v === 'object' && v !== null && !(v instanceof Date)) {
        stack.push(v as Record<string, unknown>);
      }
    }
  }
}
