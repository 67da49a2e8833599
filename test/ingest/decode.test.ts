import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { encode } from '@msgpack/msgpack';
import { DecodeError } from '../../src/errors.js';
import { decodeRequest, tagFromPath } from '../../src/sources/http/decode.js';
import { rfc3339ToMs, secondsToMs } from '../../src/sources/http/time.js';
import { parseForm } from '../../src/sources/http/form.js';

type BodySpec =
  | { text: string }
  | { json: unknown }
  | { msgpack: unknown }
  | { msgpackStream: unknown[] }
  | { form: Array<[string, BodySpec]> }
  | { zeros: number };

interface Case {
  name: string;
  request: {
    contentType?: string;
    contentEncoding?: string;
    query?: Record<string, string | string[]>;
    body: BodySpec;
    compress?: 'gzip' | 'deflate' | 'deflate-raw';
    truncate?: number;
  };
  events?: Array<{ time: number; record: Record<string, unknown> }>;
  error?: { status: number; reason?: string; reasonExact?: string; reasonMinLength?: number };
}

// from test/ingest (tsx) or dist/test/ingest (compiled): the first fixtures/ dir walking up
function fixturePath(rel: string): URL {
  for (const up of ['../../', '../../../']) {
    const u = new URL(up + rel, import.meta.url);
    if (existsSync(u)) return u;
  }
  throw new Error(`fixture not found: ${rel}`);
}

const fixture = JSON.parse(readFileSync(fixturePath('fixtures/in_http/cases.json'), 'utf8')) as {
  now: number;
  maxDecompressedBytes: number;
  tags: Array<{ url: string; tag: string | null }>;
  cases: Case[];
};

// every byte percent-encoded except unreserved ascii, so binary msgpack goes through the form as it would from curl
function percentEncode(bytes: Buffer): string {
  let s = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    s += /[A-Za-z0-9\-_.~]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return s;
}

function bodyOf(spec: BodySpec): Buffer {
  if ('text' in spec) return Buffer.from(spec.text, 'utf8');
  if ('json' in spec) return Buffer.from(JSON.stringify(spec.json), 'utf8');
  if ('msgpack' in spec) return Buffer.from(encode(spec.msgpack));
  if ('msgpackStream' in spec) return Buffer.concat(spec.msgpackStream.map((v) => encode(v)));
  if ('zeros' in spec) return Buffer.alloc(spec.zeros);
  return Buffer.from(spec.form.map(([name, value]) => `${name}=${percentEncode(bodyOf(value))}`).join('&'), 'latin1');
}

function requestBody(r: Case['request']): Buffer {
  let body = bodyOf(r.body);
  if (r.compress === 'gzip') body = gzipSync(body);
  else if (r.compress === 'deflate') body = deflateSync(body);
  else if (r.compress === 'deflate-raw') body = deflateRawSync(body);
  if (r.truncate !== undefined) body = body.subarray(0, r.truncate);
  return body;
}

const limits = { maxDecompressedBytes: fixture.maxDecompressedBytes };

for (const c of fixture.cases) {
  test(`decode: ${c.name}`, async () => {
    const input = {
      tag: 'test.log',
      contentType: c.request.contentType,
      contentEncoding: c.request.contentEncoding,
      body: requestBody(c.request),
      query: c.request.query ?? {},
    };
    const run = decodeRequest(input, limits, fixture.now);
    if (c.error) {
      const err = await run.then(
        (events) => assert.fail(`expected a ${c.error!.status}, got ${events.length} events`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof DecodeError, `expected DecodeError, got ${String(err)}`);
      assert.equal(err.status, c.error.status);
      if (c.error.reasonExact !== undefined) assert.equal(err.message, c.error.reasonExact);
      if (c.error.reason !== undefined) assert.ok(err.message.startsWith(c.error.reason), `reason: ${err.message}`);
      if (c.error.reasonMinLength !== undefined) assert.ok(err.message.length >= c.error.reasonMinLength, `reason too short: ${err.message}`);
    } else {
      assert.deepEqual(await run, c.events);
    }
  });
}

test('tagFromPath: fixture table', () => {
  for (const { url, tag } of fixture.tags) assert.equal(tagFromPath(url), tag, url);
});

test('msgpack bin values become text, timestamps stay dates, nested too', async () => {
  const body = Buffer.from(encode({ b: new Uint8Array(Buffer.from('héllo')), nest: [{ b: new Uint8Array([0x61]) }] }));
  const [event] = await decodeRequest({ tag: 't', contentType: 'application/msgpack', body, query: {} }, limits, 1);
  assert.deepEqual(event!.record, { b: 'héllo', nest: [{ b: 'a' }] });
});

test('msgpack __proto__ key is refused rather than turned into a prototype', async () => {
  const body = Buffer.concat([Buffer.from([0x81, 0xa9]), Buffer.from('__proto__'), Buffer.from([0x01])]);
  await assert.rejects(
    decodeRequest({ tag: 't', contentType: 'application/msgpack', body, query: {} }, limits, 1),
    (e: unknown) => e instanceof DecodeError && e.status === 400 && e.message.startsWith('invalid msgpack:'),
  );
});

test('a body exactly at the decompressed bound is accepted', async () => {
  const json = JSON.stringify({ pad: 'x'.repeat(100) });
  const body = gzipSync(Buffer.from(json));
  const events = await decodeRequest(
    { tag: 't', contentType: 'application/json', contentEncoding: 'gzip', body, query: {} },
    { maxDecompressedBytes: Buffer.byteLength(json) },
    1,
  );
  assert.equal(events.length, 1);
  await assert.rejects(
    decodeRequest(
      { tag: 't', contentType: 'application/json', contentEncoding: 'gzip', body, query: {} },
      { maxDecompressedBytes: Buffer.byteLength(json) - 1 },
      1,
    ),
    (e: unknown) => e instanceof DecodeError && e.status === 413,
  );
});

test('time parsing helpers', () => {
  assert.equal(rfc3339ToMs('2024-05-01T10:00:01.123Z'), 1714557601123);
  assert.equal(rfc3339ToMs('2024-05-01T10:00:01Z'), 1714557601000);
  assert.equal(rfc3339ToMs('2024-05-01T10:00:01'), 1714557601000); // no zone: utc, whatever the host's TZ
  assert.equal(rfc3339ToMs('2024-05-01t10:00:01.1z'), 1714557601100);
  assert.equal(rfc3339ToMs('2024-05-01T08:00:01-02:00'), 1714557601000);
  assert.equal(rfc3339ToMs('2024-13-01T10:00:01Z'), null);
  assert.equal(rfc3339ToMs('2024-05-01'), null);
  assert.equal(rfc3339ToMs(''), null);
  assert.equal(secondsToMs('1714557601.5'), 1714557601500);
  assert.equal(secondsToMs(1714557601), 1714557601000);
  assert.equal(secondsToMs('0'), null);
  assert.equal(secondsToMs(''), null);
  assert.equal(secondsToMs('abc'), null);
  assert.equal(secondsToMs(Infinity), null);
});

test('form parsing keeps bytes, handles +, bad escapes and missing values', () => {
  const f = parseForm(Buffer.from('a=%FF%00x&b=1+2&c=%zz%4&d&&e=%41'));
  assert.deepEqual(f.get('a'), Buffer.from([0xff, 0x00, 0x78]));
  assert.equal(f.get('b')!.toString(), '1 2');
  assert.equal(f.get('c')!.toString(), '%zz%4');
  assert.deepEqual(f.get('d'), Buffer.alloc(0));
  assert.equal(f.get('e')!.toString(), 'A');
  assert.equal(f.size, 5);
});

test('a small request of many records is refused with 413 over the records bound', async () => {
  const body = Buffer.from('[' + Array.from({ length: 10_001 }, () => '{}').join(',') + ']');
  await assert.rejects(
    decodeRequest({ tag: 't', contentType: 'application/json', body, query: {} }, { maxDecompressedBytes: 1 << 20, maxRecords: 10_000 }, 0),
    (err: DecodeError) => err.status === 413 && /10001 records in one request, over the bound of 10000/.test(err.message),
  );
  const ok = await decodeRequest({ tag: 't', contentType: 'application/json', body: Buffer.from('[{},{}]'), query: {} }, { maxDecompressedBytes: 1 << 20, maxRecords: 2 }, 0);
  assert.equal(ok.length, 2);
});
