// hostile request bodies for the ingest decoder and the router behind it, from a seeded prng (the seed is printed;
// TDF_SEED=<n> replays a run): random bytes, mutated json, non-object json, deep nesting (100k levels), huge
// strings, invalid utf-8, msgpack with lying headers, compression bombs (also nested), random content types and
// encodings. every input must end in a DecodeError (400 or 413) or in events; never another error. work is
// bounded: no more events than decoded bytes, decoded output no larger than a small multiple of the limit, and
// every routed log within the router's byte limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { encode } from '@msgpack/msgpack';
import { DecodeError } from '../../src/errors.js';
import { decodeRequest, tagFromPath, MAX_TAG_LENGTH, type DecodeInput } from '../../src/sources/http/decode.js';
import { createRouter } from '../../src/router/router.js';
import { sectionDefaults } from '../../src/config/sections.js';
import { createPrng, seedFromEnv, type Prng } from '../helpers/prng.js';

const MAX = 256 * 1024; // decompressed bound used here
const MAX_LOG = 64 * 1024;
const MAX_RECORDS = sectionDefaults('ingest').maxRecords;
const CASES = Number(process.env.TDF_FUZZ_CASES ?? 3000);

const router = createRouter({
  ...sectionDefaults('routing'),
  rules: [
    { pattern: 'session.*.log', type: 'datadog', source: 'teleport', includeTagKey: true },
    { pattern: 'drop.**', type: 'null' },
    { pattern: '**', type: 'datadog', source: 'teleport', service: 'audit', tags: ['env:fuzz'] },
  ],
  unmatched: 'reject',
  hostname: 'fuzz',
  maxLogBytes: MAX_LOG,
  oldTimestamps: 'restamp',
});

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/csp-report',
  'application/x-ndjson',
  'application/msgpack',
  'application/x-www-form-urlencoded',
  'text/plain',
  'application/octet-stream',
  '',
  ';',
  'application/json;;;',
  'multipart/form-data; boundary=x',
  '\u0000',
  'application/x-www-form-urlencoded; charset=latin1',
];
const ENCODINGS = [
  '',
  'identity',
  'gzip',
  'x-gzip',
  'deflate',
  'gzip, gzip',
  'deflate, gzip',
  'br',
  'zstd',
  'GZIP',
  ' , ',
  'gzip,,identity',
  'compress',
];

function randomString(p: Prng, max: number): string {
  const n = p.int(0, max);
  let s = '';
  for (let i = 0; i < n; i++) {
    const k = p.int(0, 9);
    if (k < 6) s += String.fromCharCode(p.int(0x20, 0x7e));
    else if (k < 8) s += String.fromCharCode(p.int(0, 0x1f));
    else if (k < 9)
      s += String.fromCharCode(p.int(0xd800, 0xdfff)); // lone surrogates
    else s += String.fromCodePoint(p.int(0x80, 0x10ffff));
  }
  return s;
}

function randomValue(p: Prng, depth: number): unknown {
  switch (depth > 4 ? p.int(0, 4) : p.int(0, 7)) {
    case 0:
      return null;
    case 1:
      return p.bool();
    case 2:
      return p.pick([0, -1, 1.5, 1e308, -1e-308, 2 ** 53, p.int(-1e9, 1e9)]);
    case 3:
      return randomString(p, 40);
    case 4:
      return p.pick(['2024-05-01T10:00:01.123Z', '9999-12-31T23:59:59Z', '0000-00-00T00:00:00Z', '', 'T1000W']);
    case 5:
      return Array.from({ length: p.int(0, 5) }, () => randomValue(p, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = p.int(0, 6); i > 0; i--)
        o[
          p.pick([
            'time',
            'code',
            'uid',
            'event',
            '__proto__',
            'constructor',
            'status',
            'tag',
            '@timestamp',
            randomString(p, 12),
          ])
        ] = randomValue(p, depth + 1);
      return o;
    }
  }
}

function mutate(p: Prng, b: Buffer): Buffer {
  const out = Buffer.from(b);
  for (let i = p.int(1, 4); i > 0 && out.length > 0; i--) {
    const at = p.int(0, out.length - 1);
    switch (p.int(0, 2)) {
      case 0:
        out[at] = p.int(0, 255);
        break;
      case 1:
        return Buffer.concat([out.subarray(0, at), p.bytes(p.int(1, 8)), out.subarray(at)]);
      default:
        return out.subarray(0, at);
    }
  }
  return out;
}

function deep(kind: 'json-array' | 'json-object' | 'msgpack-map' | 'msgpack-array', levels: number): Buffer {
  switch (kind) {
    case 'json-array':
      return Buffer.from('['.repeat(levels) + ']'.repeat(levels));
    case 'json-object':
      return Buffer.from('{"a":'.repeat(levels) + '1' + '}'.repeat(levels));
    case 'msgpack-map':
      return Buffer.concat([
        Buffer.from(Array.from({ length: levels }, () => [0x81, 0xa1, 0x61]).flat()),
        Buffer.from([0x01]),
      ]);
    case 'msgpack-array':
      return Buffer.concat([Buffer.from([0x81, 0xa1, 0x61]), Buffer.alloc(levels, 0x91), Buffer.from([0x01])]);
  }
}

function compress(p: Prng, body: Buffer): { body: Buffer; encoding: string } {
  switch (p.int(0, 4)) {
    case 0:
      return { body: gzipSync(body), encoding: 'gzip' };
    case 1:
      return { body: deflateSync(body), encoding: 'deflate' };
    case 2:
      return { body: deflateRawSync(body), encoding: 'deflate' };
    case 3:
      return { body: gzipSync(gzipSync(body)), encoding: 'gzip, gzip' };
    default:
      return { body: mutate(p, gzipSync(body)), encoding: 'gzip' };
  }
}

/** one hostile request; `label` says what kind, for a failure message */
function hostileInput(p: Prng): { label: string; input: DecodeInput } {
  const tag = 'test.log';
  const kind = p.int(0, 11);
  let body: Buffer = Buffer.alloc(0);
  let contentType: string | undefined = p.pick(CONTENT_TYPES);
  let contentEncoding: string | undefined;
  const query: Record<string, string | string[] | undefined> = {};
  let label: string;
  switch (kind) {
    case 0:
      label = 'random bytes';
      body = p.bytes(p.int(0, 2048));
      break;
    case 1:
      label = 'mutated json';
      body = mutate(p, Buffer.from(JSON.stringify(randomValue(p, 0))));
      contentType = 'application/json';
      break;
    case 2:
      label = 'non-object json';
      body = Buffer.from(JSON.stringify(p.pick([1, 'x', null, true, [1, 2], [[{}]], [null], 1e400])));
      contentType = 'application/json';
      break;
    case 3:
      label = 'random json value';
      body = Buffer.from(JSON.stringify(randomValue(p, 0)) ?? 'null');
      contentType = p.pick(['application/json', 'application/x-ndjson']);
      break;
    case 4:
      label = 'invalid utf-8';
      body = Buffer.concat([Buffer.from('{"a":"'), p.bytes(p.int(1, 64)).map((b) => b | 0x80), Buffer.from('"}')]);
      contentType = 'application/json';
      break;
    case 5:
      label = 'random msgpack';
      body = p.bool(0.5) ? Buffer.from(encode(randomValue(p, 0))) : mutate(p, Buffer.from(encode(randomValue(p, 0))));
      contentType = 'application/msgpack';
      break;
    case 6:
      label = 'msgpack lying lengths';
      body = Buffer.from(
        p.pick([
          [0xdd, 0xff, 0xff, 0xff, 0xff],
          [0xdf, 0x7f, 0xff, 0xff, 0xff],
          [0x81, 0xa1, 0x61, 0xdb, 0xff, 0xff, 0xff, 0xff],
          [0xc6, 0xff, 0xff, 0xff, 0xff, 1],
          [0xc1],
        ]),
      );
      contentType = 'application/msgpack';
      break;
    case 7: {
      label = 'form';
      contentType = 'application/x-www-form-urlencoded';
      const field = p.pick(['json', 'ndjson', 'msgpack', 'time', 'x', '']);
      const value = p.bool()
        ? encodeURIComponent(JSON.stringify(randomValue(p, 0)) ?? '')
        : p.bytes(p.int(0, 64)).toString('latin1');
      body = Buffer.from(
        `${field}=${value}&${p.pick(['time=1.5', 'time=abc', 'time=-1', 'json=%', '&&', '=='])}`,
        'latin1',
      );
      break;
    }
    case 8: {
      label = 'query';
      contentType = p.pick(['', 'text/plain', undefined as unknown as string]);
      query[p.pick(['json', 'ndjson', 'msgpack'])] = p.bool() ? JSON.stringify(randomValue(p, 0)) : randomString(p, 64);
      if (p.bool()) query.time = p.pick(['1714557601', '1e30', 'NaN', '-5', ['1', '2']]) as string;
      break;
    }
    case 9: {
      label = 'compressed';
      const c = compress(p, Buffer.from(JSON.stringify(randomValue(p, 0)) ?? '{}'));
      body = c.body;
      contentEncoding = c.encoding;
      contentType = 'application/json';
      break;
    }
    case 10:
      label = 'random encoding';
      body = p.bytes(p.int(0, 256));
      contentEncoding = p.pick(ENCODINGS);
      break;
    default:
      label = 'huge string';
      body = Buffer.from(JSON.stringify({ uid: 'big', message: 'x'.repeat(p.int(MAX_LOG, MAX - 100)) }));
      contentType = 'application/json';
  }
  return { label, input: { tag, contentType, contentEncoding, body, query } };
}

/** decode, then route every event; checks the properties and returns what happened */
async function check(label: string, input: DecodeInput, decodedBound: number): Promise<'events' | 400 | 413> {
  let events;
  try {
    events = await decodeRequest(input, { maxDecompressedBytes: MAX, maxRecords: MAX_RECORDS }, Date.UTC(2024, 4, 1));
  } catch (err) {
    assert.ok(err instanceof DecodeError, `${label}: ${(err as Error)?.constructor?.name} ${(err as Error)?.message}`);
    assert.ok(err.status === 400 || err.status === 413, `${label}: status ${err.status}`);
    assert.ok(err.message.length > 0 && err.message.length < 2000, `${label}: a short reason`);
    return err.status as 400 | 413;
  }
  assert.ok(Array.isArray(events), label);
  assert.ok(
    events.length <= decodedBound,
    `${label}: ${events.length} events from at most ${decodedBound} decoded bytes`,
  );
  for (const e of events) {
    assert.ok(Number.isFinite(e.time) && e.time > 0, `${label}: time ${e.time}`);
    assert.equal(typeof e.record, 'object', label);
    assert.ok(e.record !== null && !Array.isArray(e.record), label);
    const r = router.route({ tag: input.tag, time: e.time, record: e.record });
    assert.ok(['send', 'drop', 'reject'].includes(r.kind), label);
    if (r.kind === 'send') {
      assert.ok(
        Buffer.byteLength(r.value) <= MAX_LOG,
        `${label}: routed log of ${Buffer.byteLength(r.value)} bytes over ${MAX_LOG}`,
      );
      const parsed = JSON.parse(r.value);
      assert.equal(typeof parsed, 'object', label);
    }
  }
  return 'events';
}

test(
  'random hostile bodies: a DecodeError (400/413) or events, never a crash; output bounded',
  { timeout: 120_000 },
  async (t) => {
    const p = createPrng(seedFromEnv(Date.now()));
    t.diagnostic(`seed ${p.seed} (TDF_SEED=${p.seed} replays it), ${CASES} cases`);
    const seen = new Map<string, number>();
    for (let i = 0; i < CASES; i++) {
      const { label, input } = hostileInput(p);
      // no encoding: the body is what is decoded; with one, at most MAX per layer, and query values are small
      const bound = Math.max(input.body.length, MAX) + 4096;
      const outcome = await check(`case ${i} (${label}, seed ${p.seed})`, input, bound);
      const key = `${label}:${outcome}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    t.diagnostic(
      [...seen.entries()]
        .sort()
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    );
    assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  },
);

test(
  'deep nesting (100k levels) in json, ndjson and msgpack: a 400, events or a router reject, never a stack overflow',
  { timeout: 60_000 },
  async () => {
    for (const kind of ['json-array', 'json-object', 'msgpack-map', 'msgpack-array'] as const) {
      const body = deep(kind, 100_000);
      const contentType = kind.startsWith('json') ? 'application/json' : 'application/msgpack';
      await check(`deep ${kind}`, { tag: 'test.log', contentType, body, query: {} }, body.length);
      if (kind === 'json-object')
        await check(
          'deep ndjson',
          { tag: 'test.log', contentType: 'application/x-ndjson', body, query: {} },
          body.length,
        );
    }
    // a deep record that decodes is refused by the router (it cannot be written as json), not thrown
    const events = await decodeRequest(
      { tag: 'test.log', contentType: 'application/json', body: deep('json-object', 100_000), query: {} },
      { maxDecompressedBytes: 8 << 20, maxRecords: MAX_RECORDS },
      Date.now(),
    );
    assert.equal(events.length, 1);
    const r = router.route({ tag: 'test.log', time: Date.now(), record: events[0]!.record });
    assert.equal(r.kind, 'reject');
  },
);

test(
  'compression bombs, plain and nested: 413 at the decompressed bound, nothing more is inflated',
  { timeout: 60_000 },
  async () => {
    const zeros = Buffer.alloc(16 * MAX, 0x20);
    const bombs: Array<[string, Buffer, string]> = [
      ['gzip', gzipSync(zeros), 'gzip'],
      ['x-gzip', gzipSync(zeros), 'x-gzip'],
      ['zlib deflate', deflateSync(zeros), 'deflate'],
      ['raw deflate', deflateRawSync(zeros), 'deflate'],
      ['gzip in gzip', gzipSync(gzipSync(Buffer.alloc(64 * MAX, 0x20))), 'gzip, gzip'],
      // each layer within the bound, the result of the inner one not
      ['layers each under the bound', gzipSync(gzipSync(zeros, { level: 9 })), 'gzip, gzip'],
    ];
    for (const [name, body, encoding] of bombs) {
      assert.ok(body.length < MAX, `${name}: a small body (${body.length} bytes)`);
      await assert.rejects(
        decodeRequest(
          { tag: 't', contentType: 'application/json', contentEncoding: encoding, body, query: {} },
          { maxDecompressedBytes: MAX, maxRecords: MAX_RECORDS },
          Date.now(),
        ),
        (err: unknown) => err instanceof DecodeError && err.status === 413 && /larger than/.test(err.message),
        name,
      );
    }
  },
);

test(
  'tagFromPath on random paths: null or a short tag with no empty part, no whitespace, control character or slash',
  { timeout: 60_000 },
  (t) => {
    const p = createPrng(seedFromEnv(Date.now() ^ 0x5a5a));
    t.diagnostic(`seed ${p.seed}`);
    const parts = [
      '/',
      '.',
      '..',
      '%2F',
      '%2e',
      '%',
      '%zz',
      '?',
      '#',
      'a',
      'test.log',
      'session',
      '%00',
      '%20',
      '\u00e9',
      '%C3%A9',
      '%ED%A0%80',
      ' ',
      '\t',
      '~',
      '*',
      '**',
      '{a,b}',
    ];
    let tags = 0;
    for (let i = 0; i < 20_000; i++) {
      let url = p.bool(0.9) ? '/' : '';
      for (let k = p.int(0, 8); k > 0; k--) url += p.bool(0.8) ? p.pick(parts) : randomString(p, 6);
      const tag = tagFromPath(url);
      if (tag === null) continue;
      tags++;
      assert.ok(tag.length > 0 && tag.length <= MAX_TAG_LENGTH, `${tag.length} chars`);
      assert.ok(
        !tag.startsWith('.') && !tag.endsWith('.') && !tag.includes('..'),
        `${JSON.stringify(url)} -> ${JSON.stringify(tag)}`,
      );
      assert.ok(!/[\s\x00-\x1f\x7f/]/.test(tag), `${JSON.stringify(url)} -> ${JSON.stringify(tag)}`);
    }
    // a 1 MB path is still only a string operation, and a tag past MAX_TAG_LENGTH is refused
    assert.equal(tagFromPath('/' + 'a'.repeat(1 << 20)), null);
    assert.equal(tagFromPath('/' + 'a'.repeat(MAX_TAG_LENGTH))?.length, MAX_TAG_LENGTH);
    assert.equal(tagFromPath('/' + '%'.repeat(1 << 20)), null);
    t.diagnostic(`${tags} of 20000 random paths gave a tag`);
  },
);
