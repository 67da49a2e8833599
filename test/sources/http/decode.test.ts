import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { encode } from '@msgpack/msgpack';
import { DecodeError } from '../../../src/errors.js';
import {
  decodePlain,
  decodeRequest,
  hasContentCoding,
  tagFromPath,
  type DecodedEvent,
} from '../../../src/sources/http/decode.js';
import { rfc3339ToMs, secondsToMs } from '../../../src/sources/http/time.js';
import { parseForm } from '../../../src/sources/http/form.js';
import { sectionDefaults } from '../../../src/config/sections.js';

// the records one request may carry, as configured by default (ingest.max-records)
const MAX_RECORDS = sectionDefaults('ingest').maxRecords;

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
  error?: {
    status: number;
    reason?: string;
    reasonExact?: string;
    reasonMinLength?: number;
    reasonIncludes?: string[];
    reasonExcludes?: string[];
  };
}

// from test/sources/http (tsx) or dist/test/sources/http (compiled): the first fixtures/ dir walking up
function fixturePath(rel: string): URL {
  for (const up of ['../../../', '../../../../']) {
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

const limits = { maxDecompressedBytes: fixture.maxDecompressedBytes, maxRecords: MAX_RECORDS };

for (const c of fixture.cases) {
  test(`decode: ${c.name}`, async () => {
    const input = {
      tag: 'test.log',
      contentType: c.request.contentType,
      contentEncoding: c.request.contentEncoding,
      body: requestBody(c.request),
      query: c.request.query ?? {},
    };
    // the server decodes a body without content coding synchronously (decodePlain): both must agree on every case
    const runs: Array<[string, Promise<unknown[]>]> = [['decodeRequest', decodeRequest(input, limits, fixture.now)]];
    if (!hasContentCoding(input)) {
      runs.push(['decodePlain', Promise.resolve().then(() => decodePlain(input, limits, fixture.now))]);
    }
    for (const [how, run] of runs) {
      if (c.error) {
        const err = await run.then(
          (events) => assert.fail(`${how}: expected a ${c.error!.status}, got ${events.length} events`),
          (e: unknown) => e,
        );
        assert.ok(err instanceof DecodeError, `${how}: expected DecodeError, got ${String(err)}`);
        assert.equal(err.status, c.error.status);
        if (c.error.reasonExact !== undefined) assert.equal(err.message, c.error.reasonExact);
        if (c.error.reason !== undefined) assert.ok(err.message.startsWith(c.error.reason), `reason: ${err.message}`);
        if (c.error.reasonMinLength !== undefined)
          assert.ok(err.message.length >= c.error.reasonMinLength, `reason too short: ${err.message}`);
        for (const part of c.error.reasonIncludes ?? [])
          assert.ok(err.message.includes(part), `has ${part}: ${err.message}`);
        for (const part of c.error.reasonExcludes ?? [])
          assert.ok(!err.message.includes(part), `no ${part}: ${err.message}`);
        // a reason never carries the client's raw bytes: no control characters, no undecodable bytes
        assert.doesNotMatch(
          err.message,
          /[\x00-\x1f\x7f-\x9f\ufffd]/,
          `printable reason: ${JSON.stringify(err.message)}`,
        );
      } else {
        // the fixture holds what fluentd makes of the request; the record's own text is this side's (see below)
        const events = (await run) as DecodedEvent[];
        assert.deepEqual(
          events.map((e) => ({ time: e.time, record: e.record })),
          c.events,
          how,
        );
      }
    }
  });
}

test('decodePlain refuses a body with a content coding', () => {
  for (const contentEncoding of ['gzip', 'identity']) {
    assert.throws(
      () =>
        decodePlain(
          { tag: 't', contentType: 'application/json', contentEncoding, body: Buffer.from('{}'), query: {} },
          limits,
          1,
        ),
      /use decodeRequest/,
    );
  }
  assert.deepEqual(
    decodePlain(
      { tag: 't', contentType: 'application/json', contentEncoding: '', body: Buffer.from('{"a":1}'), query: {} },
      limits,
      1,
    ),
    [{ time: 1, record: { a: 1 }, text: '{"a":1}' }],
  );
});

// the router sends a record's text as it came when it can stand for the record: the whole body, one object with
// keys, on one line, with nothing around it. everything else is serialized from the parsed record
test('decode: which bodies give the record its own text', async () => {
  const cases: Array<{ name: string; body: string; type?: string; text: string | undefined }> = [
    { name: 'one compact object', body: '{"a":1,"b":{"c":[1,2]}}', text: '{"a":1,"b":{"c":[1,2]}}' },
    { name: 'spaces inside', body: '{"a": 1, "b": "x y"}', text: '{"a": 1, "b": "x y"}' },
    { name: 'digits past 2^53 kept', body: '{"id":12345678901234567891}', text: '{"id":12345678901234567891}' },
    { name: 'an escaped line break in a string', body: '{"a":"x\\ny"}', text: '{"a":"x\\ny"}' },
    { name: 'empty object', body: '{}', text: undefined },
    { name: 'empty object with a space', body: '{ }', text: undefined },
    { name: 'a space before', body: ' {"a":1}', text: undefined },
    { name: 'a line end after', body: '{"a":1}\n', text: undefined },
    { name: 'a line break between keys', body: '{"a":1,\n"b":2}', text: undefined },
    { name: 'a carriage return between keys', body: '{"a":1,\r"b":2}', text: undefined },
    { name: 'a byte order mark', body: '\ufeff{"a":1}', text: undefined },
    { name: 'an array of one object', body: '[{"a":1}]', text: undefined },
    { name: 'an array of two objects', body: '[{"a":1},{"b":2}]', text: undefined },
    { name: 'ndjson line', body: '{"a":1}', type: 'application/x-ndjson', text: undefined },
  ];
  for (const c of cases) {
    const input = { tag: 't', contentType: c.type ?? 'application/json', body: Buffer.from(c.body), query: {} };
    const events = decodePlain(input, limits, 1);
    assert.ok(events.length >= 1, c.name);
    for (const e of events) assert.equal(e.text, events.length === 1 ? c.text : undefined, c.name);
    if (c.text !== undefined) assert.deepEqual(JSON.parse(c.text), events[0]!.record, c.name);
  }
  // json= in a form or in the query string is the whole payload too
  const form = Buffer.from(`json=${encodeURIComponent('{"a":1}')}`);
  const formType = 'application/x-www-form-urlencoded';
  assert.equal(decodePlain({ tag: 't', contentType: formType, body: form, query: {} }, limits, 1)[0]!.text, '{"a":1}');
  // a compressed body decodes to the same text
  const gz = gzipSync('{"a":2}');
  const [gzipped] = await decodeRequest(
    { tag: 't', contentType: 'application/json', contentEncoding: 'gzip', body: gz, query: {} },
    limits,
    1,
  );
  assert.equal(gzipped!.text, '{"a":2}');
});

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
    { maxDecompressedBytes: Buffer.byteLength(json), maxRecords: MAX_RECORDS },
    1,
  );
  assert.equal(events.length, 1);
  await assert.rejects(
    decodeRequest(
      { tag: 't', contentType: 'application/json', contentEncoding: 'gzip', body, query: {} },
      { maxDecompressedBytes: Buffer.byteLength(json) - 1, maxRecords: MAX_RECORDS },
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
    decodeRequest(
      { tag: 't', contentType: 'application/json', body, query: {} },
      { maxDecompressedBytes: 1 << 20, maxRecords: 10_000 },
      0,
    ),
    (err: DecodeError) =>
      err.status === 413 &&
      /^more than 10000 records in one request, over the bound of 10000 \(ingest.max-records\)/.test(err.message),
  );
  const ok = await decodeRequest(
    { tag: 't', contentType: 'application/json', body: Buffer.from('[{},{}]'), query: {} },
    { maxDecompressedBytes: 1 << 20, maxRecords: 2 },
    0,
  );
  assert.equal(ok.length, 2);
});

// the bounds are checked on a scan before parsing: the 413's wording tells the pre-scan ("more than N") from the
// check after parsing ("<count> records"), and a body of one record holding millions of values only the pre-scan refuses
const MiB = 1024 * 1024;
const DEFAULT_LIMITS = { maxDecompressedBytes: 64 * MiB, maxRecords: MAX_RECORDS };

function decodeAs(
  contentType: string,
  body: Buffer,
  limits: { maxDecompressedBytes: number; maxRecords: number } = DEFAULT_LIMITS,
) {
  return decodeRequest({ tag: 't', contentType, body, query: {} }, limits, 1);
}

async function decodeError(run: Promise<unknown>): Promise<DecodeError> {
  const err = await run.then(
    () => assert.fail('expected a DecodeError'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof DecodeError, `expected DecodeError, got ${String(err)}`);
  return err;
}

const RECORDS_413 =
  /^more than 10000 records in one request, over the bound of 10000 \(ingest.max-records\): send them in smaller requests$/;

test('64 MiB of `[{},{},…]` (22 million records) is a 413 from the pre-scan', async () => {
  const body = Buffer.from('[' + '{},'.repeat(Math.floor((64 * MiB - 4) / 3)) + '{}]');
  assert.ok(body.length <= 64 * MiB);
  const err = await decodeError(decodeAs('application/json', body));
  assert.equal(err.status, 413);
  assert.match(err.message, RECORDS_413);
});

test('one record holding 2 million objects (`[[{},{},…]]`) is a 413: too many JSON values', async () => {
  const body = Buffer.from('[[' + '{},'.repeat(2_000_000 - 1) + '{}]]');
  const err = await decodeError(decodeAs('application/json', body));
  assert.equal(err.status, 413);
  assert.equal(
    err.message,
    'the body holds more than 2000000 JSON values (200 per record allowed by ingest.max-records): send them in smaller requests',
  );
  // the same as ndjson and under a form field
  const line = '{"a":[' + '{},'.repeat(2_000_000 - 1) + '{}]}';
  assert.equal((await decodeError(decodeAs('application/x-ndjson', Buffer.from('{}\n' + line + '\n')))).status, 413);
  const form = Buffer.from('json=' + encodeURIComponent(line));
  assert.equal((await decodeError(decodeAs('application/x-www-form-urlencoded', form))).status, 413);
});

test('msgpack: 2 million maps in one array in one array is a 413: too many msgpack values', async () => {
  const n = 2_000_000;
  const body = Buffer.alloc(6 + n, 0x80);
  body.set([0x91, 0xdd], 0);
  body.writeUInt32BE(n, 2);
  const err = await decodeError(decodeAs('application/msgpack', body));
  assert.equal(err.status, 413);
  assert.equal(
    err.message,
    'the body holds more than 2000000 msgpack values (200 per record allowed by ingest.max-records): send them in smaller requests',
  );
});

test('msgpack: more than 10,000 records in an array or as a stream is a 413 from the pre-scan', async () => {
  const array = Buffer.alloc(5 + 10_001, 0x80);
  array[0] = 0xdc;
  array.writeUInt16BE(10_001, 1);
  for (const body of [array.subarray(0, 3 + 10_001), Buffer.alloc(10_001, 0x80)]) {
    const err = await decodeError(decodeAs('application/msgpack', body));
    assert.equal(err.status, 413);
    assert.match(err.message, RECORDS_413);
  }
});

test('msgpack: a few KB of headers claiming huge arrays is a 413, not a decode that allocates them all', async () => {
  // 8,000 nested array16 headers, each claiming 16,368 elements: decodeMulti would allocate ~1 GiB before failing
  const body = Buffer.alloc(1 + 3 * 8000, 0x91);
  for (let i = 1; i < body.length; i += 3) body.set([0xdc, 0x3f, 0xf0], i);
  const err = await decodeError(decodeAs('application/msgpack', body));
  assert.equal(err.status, 413);
  assert.match(err.message, /^the body holds more than 2000000 msgpack values/);
});

test('ndjson: more than 10,000 lines is a 413 from the pre-scan; blank lines do not count', async () => {
  const err = await decodeError(decodeAs('application/x-ndjson', Buffer.from('{"a":1}\n'.repeat(10_001))));
  assert.equal(err.status, 413);
  assert.match(err.message, RECORDS_413);
  const events = await decodeAs(
    'application/x-ndjson',
    Buffer.from('{"a":1}\n\n \u00a0\n'.repeat(10_000) + '\n'.repeat(100_000)),
  );
  assert.equal(events.length, 10_000);
});

test('a legitimate 10,000-record body still decodes, as json, ndjson and msgpack', async () => {
  const records = Array.from({ length: 10_000 }, (_, i) => ({
    event: 'session.start',
    uid: `u-${i}`,
    time: '2024-05-01T10:00:05.705Z',
    user: 'alice',
    login: 'root',
    server_id: 'node-1',
    addr: { local: '10.0.0.1:3022', remote: '10.0.0.2:51000' },
    roles: ['access', 'editor'],
    size: '80:25',
    sid: `s-${i}`,
    code: 'T2000I',
    ei: i,
    note: 'a "quoted" [bracket], {brace}: and \\ backslash',
  }));
  const json = await decodeAs('application/json', Buffer.from(JSON.stringify(records)));
  assert.equal(json.length, 10_000);
  assert.deepEqual(json[9_999]!.record, records[9_999]);
  const ndjson = await decodeAs('application/x-ndjson', Buffer.from(records.map((r) => JSON.stringify(r)).join('\n')));
  assert.equal(ndjson.length, 10_000);
  const msgpack = await decodeAs('application/msgpack', Buffer.from(encode(records)));
  assert.equal(msgpack.length, 10_000);
  assert.deepEqual(msgpack[0]!.record, records[0]);
  // and one more is over
  const over = await decodeError(decodeAs('application/json', Buffer.from(JSON.stringify([...records, {}]))));
  assert.match(over.message, RECORDS_413);
});

test("invalid JSON is still the parser's 400, within the bounds or with an early error in a body over them", async () => {
  const parserReason = (text: string): string => {
    try {
      JSON.parse(text);
    } catch (e) {
      return (e as Error).message;
    }
    return assert.fail(`${text} parses`);
  };
  for (const text of [
    '[{},{]',
    '{"a":1,}',
    '[1,2',
    '"abc',
    '{"a":"b"} x',
    '[{}x' + ',{}'.repeat(20_000) + ']',
    'x[' + '[],'.repeat(2_000_000) + '[]]',
  ]) {
    const err = await decodeError(decodeAs('application/json', Buffer.from(text)));
    assert.equal(err.status, 400);
    assert.equal(err.message, `invalid JSON: ${parserReason(text)}`);
  }
  const ndjson = await decodeError(
    decodeAs('application/x-ndjson', Buffer.from('{}\n\n{"a" 1}\n' + '{}\n'.repeat(20_000))),
  );
  assert.equal(ndjson.status, 400);
  assert.equal(ndjson.message, `invalid JSON on line 3: ${parserReason('{"a" 1}')}`);
  // a truncated msgpack body within the bounds is still the decoder's 400
  const truncated = await decodeError(
    decodeAs('application/msgpack', Buffer.from(encode([{ a: 1 }, { b: 'text' }])).subarray(0, 9)),
  );
  assert.equal(truncated.status, 400);
  assert.match(truncated.message, /^invalid msgpack: /);
});

test('ingest.max-records sets both bounds: records and 200 values a record', async () => {
  const limits = { maxDecompressedBytes: 64 * MiB, maxRecords: 2_000 };
  const atBound = '[' + Array.from({ length: 2_000 }, () => '{}').join(',') + ']';
  assert.equal((await decodeAs('application/json', Buffer.from(atBound), limits)).length, 2_000);
  const err = await decodeError(decodeAs('application/json', Buffer.from(atBound.slice(0, -1) + ',{}]'), limits));
  assert.equal(err.status, 413);
  assert.match(err.message, /^more than 2000 records in one request, over the bound of 2000 /);
  // 400,000 values allowed: `[[{},…]]` of 200,000 objects is 400,001
  const deep = (n: number): Buffer => Buffer.from('[[' + '{},'.repeat(n - 1) + '{}]]');
  assert.equal((await decodeAs('application/json', deep(199_999), limits)).length, 0);
  const cost = await decodeError(decodeAs('application/json', deep(200_000), limits));
  assert.equal(
    cost.message,
    'the body holds more than 400000 JSON values (200 per record allowed by ingest.max-records): send them in smaller requests',
  );
});
