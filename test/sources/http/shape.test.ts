import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExtData, decodeMulti, encode } from '@msgpack/msgpack';
import { costBound, scanJson, scanMsgpack, scanNdjson, type ShapeBounds } from '../../../src/sources/http/shape.js';
import { createPrng, seedFromEnv, type Prng } from '../../helpers/prng.js';

const WIDE: ShapeBounds = { maxRecords: 1e9, maxCost: 1e9 };

function throwsOnParse(text: string): boolean {
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
}

// what JSON.parse built: `{ [ , :` a text without duplicate keys holds for it
function jsonCost(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(v.length - 1, 0) + v.reduce((n: number, e) => n + jsonCost(e), 0);
  if (typeof v === 'object' && v !== null) {
    const vals = Object.values(v);
    return 1 + vals.length + Math.max(vals.length - 1, 0) + vals.reduce((n: number, e) => n + jsonCost(e), 0);
  }
  return 0;
}

function jsonRecords(v: unknown): number {
  if (Array.isArray(v)) return v.length;
  return typeof v === 'object' && v !== null ? 1 : 0;
}

// msgpack items: every value one, a map entry two (key and value)
function msgpackItems(v: unknown): number {
  if (Array.isArray(v)) return 1 + v.reduce((n: number, e) => n + msgpackItems(e), 0);
  if (
    typeof v === 'object' &&
    v !== null &&
    !(v instanceof Uint8Array) &&
    !(v instanceof Date) &&
    !(v instanceof ExtData)
  ) {
    return 1 + Object.values(v).reduce((n: number, e) => n + 1 + msgpackItems(e), 0);
  }
  return 1;
}

function msgpackRecords(v: unknown): number {
  if (Array.isArray(v)) return v.length;
  return typeof v === 'object' &&
    v !== null &&
    !(v instanceof Uint8Array) &&
    !(v instanceof Date) &&
    !(v instanceof ExtData)
    ? 1
    : 0;
}

test('costBound: 200 a record, at least 100,000', () => {
  assert.equal(costBound(10_000), 2_000_000);
  assert.equal(costBound(1), 100_000);
  assert.equal(costBound(5_000), 1_000_000);
});

test('json: quotes, backslashes and brackets inside strings are not structure', () => {
  const text = String.raw`[{"a":"x\"]},{\\"},{"b\"[":"\\\\"},"\\\\\\\"[{,:","",{"c":"\\"}]`;
  assert.deepEqual(JSON.parse(text), [{ a: 'x"]},{\\' }, { 'b"[': '\\\\' }, '\\\\\\"[{,:', '', { c: '\\' }]);
  // [ { : , { : , , , { :
  assert.deepEqual(scanJson(text, WIDE), { stop: 'end', records: 5, cost: 11 });
});

test('json: long strings, escaped quotes and backslash runs at any distance', () => {
  for (const at of [0, 1, 30, 31, 32, 33, 64, 1000]) {
    const pad = 'p'.repeat(at);
    const values = [pad + '"' + pad, pad + '\\', pad + '\\"' + pad + '\\\\', '\\'.repeat(at) + pad + '[{,:}]'];
    const text = JSON.stringify([...values, { [pad + '"']: values }]);
    assert.deepEqual(scanJson(text, WIDE), { stop: 'end', records: 5, cost: 1 + 4 + 1 + 1 + 1 + 3 }, `at ${at}`);
    assert.equal(scanJson(text.slice(0, -3), WIDE).stop, 'odd', `at ${at}`);
  }
});

test('json: nested arrays are one record but count every value', () => {
  assert.deepEqual(scanJson('[[{},{}]]', WIDE), { stop: 'end', records: 1, cost: 5 });
  assert.deepEqual(scanJson('{"a":[{},{}],"b":{"c":1}}', WIDE), { stop: 'end', records: 1, cost: 10 });
  assert.deepEqual(scanJson(' [ ] ', WIDE), { stop: 'end', records: 0, cost: 1 });
  assert.deepEqual(scanJson('[1,"a",null,true,false,-0.5e+3,{}]', WIDE), { stop: 'end', records: 7, cost: 8 });
  assert.deepEqual(scanJson('"[{},{}]"', WIDE), { stop: 'end', records: 0, cost: 0 });
  assert.deepEqual(scanJson('12', WIDE), { stop: 'end', records: 0, cost: 0 });
});

test('json: a leading byte order mark is skipped, as the decoder does', () => {
  assert.deepEqual(scanJson('\ufeff[{},{}]', WIDE), { stop: 'end', records: 2, cost: 4 });
  assert.equal(scanJson('\ufeff\ufeff[]', WIDE).stop, 'odd');
});

test('json: stops as soon as a bound is passed', () => {
  const many = '[' + '{},'.repeat(1_000_000); // never closed: the scan must not need the end
  assert.deepEqual(scanJson(many, { maxRecords: 10, maxCost: 1e9 }), { stop: 'records', records: 11, cost: 22 });
  const deep = '[[' + '{},'.repeat(1_000_000);
  assert.deepEqual(scanJson(deep, { maxRecords: 10, maxCost: 1000 }), { stop: 'cost', records: 0, cost: 1001 });
  assert.equal(scanJson('['.repeat(2000), { maxRecords: 10, maxCost: 1000 }).stop, 'cost');
  // exactly at the bounds is fine
  assert.deepEqual(scanJson('[{},{}]', { maxRecords: 2, maxCost: 4 }), { stop: 'end', records: 2, cost: 4 });
  assert.equal(scanJson('[{},{}]', { maxRecords: 2, maxCost: 3 }).stop, 'cost');
  assert.equal(scanJson('[{},{}]', { maxRecords: 1, maxCost: 4 }).stop, 'records');
});

test('json: an element past the records bound that is malformed is left to the parser', () => {
  assert.equal(scanJson('[{},{},{"a" 1}]', { maxRecords: 2, maxCost: 100 }).stop, 'odd');
  assert.equal(scanJson('[{},{},{"a":1}]', { maxRecords: 2, maxCost: 100 }).stop, 'records');
  assert.equal(scanNdjson('{}\n{}\n{"a" 1}\n', { maxRecords: 2, maxCost: 100 }).stop, 'odd');
  assert.equal(scanNdjson('{}\n{}\n{"a":1}\n', { maxRecords: 2, maxCost: 100 }).stop, 'records');
});

test('json: whatever the scan calls odd, JSON.parse refuses', () => {
  const bad = [
    '',
    ' ',
    'x',
    '[',
    '[1,]',
    '[,1]',
    '{"a" 1}',
    '{"a":}',
    '{a:1}',
    '{"a":1,}',
    '{,}',
    '[}',
    '{]',
    '01',
    '1.',
    '.5',
    '-',
    '+1',
    '1e',
    '1e+',
    'tru',
    'nul',
    'falsey',
    '[1 2]',
    '{"a":1 "b":2}',
    '{} {}',
    '[]]',
    '"abc',
    '"abc\\"',
    '[1]x',
    '\u00a0[]',
    '[\u00a0]',
    '[1,\v2]',
    "['a']",
    '[NaN]',
    '[Infinity]',
    '[-Infinity]',
    '{"a":1}}',
  ];
  for (const text of bad) {
    assert.equal(scanJson(text, WIDE).stop, 'odd', JSON.stringify(text));
    assert.ok(throwsOnParse(text), JSON.stringify(text));
  }
});

test('ndjson: a record a non-blank line, blank as trim() sees it', () => {
  const text = '{}\n\n  \r\n{"a":[1,2]}\r\n\u00a0\u3000\ufeff\n[1]\n\t"s"\t\n';
  assert.deepEqual(scanNdjson(text, WIDE), { stop: 'end', records: 4, cost: 6 });
  assert.deepEqual(scanNdjson('', WIDE), { stop: 'end', records: 0, cost: 0 });
  assert.deepEqual(scanNdjson('\n\n\n', WIDE), { stop: 'end', records: 0, cost: 0 });
  assert.deepEqual(scanNdjson('{"a":1}', WIDE), { stop: 'end', records: 1, cost: 2 });
  // a string does not run across a line end; a value does not either
  assert.equal(scanNdjson('{"a":"x\n"}\n', WIDE).stop, 'odd');
  assert.equal(scanNdjson('{"a":"' + 'x'.repeat(40) + '\n"}\n', WIDE).stop, 'odd');
  assert.equal(scanNdjson('{"a":\n1}\n', WIDE).stop, 'odd');
  assert.equal(scanNdjson('{}\n\u00a0{}\n', WIDE).stop, 'odd');
  assert.equal(scanNdjson('\ufeff{}\n', WIDE).stop, 'odd');
  assert.equal(scanNdjson('{} {}\n', WIDE).stop, 'odd');
  assert.deepEqual(scanNdjson('{}\n'.repeat(100), { maxRecords: 10, maxCost: 1e9 }), {
    stop: 'records',
    records: 11,
    cost: 11,
  });
  assert.equal(scanNdjson('[' + '[],'.repeat(100) + '[]]\n', { maxRecords: 10, maxCost: 100 }).stop, 'cost');
});

// random json: keys and strings full of characters the scanner must not take for structure
function randomString(rng: Prng): string {
  // long runs too: past 32 characters the scan searches for the quote instead of stepping
  const alphabet = [
    '"',
    '\\',
    '[',
    ']',
    '{',
    '}',
    ',',
    ':',
    ' ',
    'a',
    'é',
    '\n',
    '\u2028',
    '😀',
    '\\"',
    '/',
    'x'.repeat(31),
    '\\'.repeat(33),
  ];
  let s = '';
  for (let n = rng.int(0, 6); n > 0; n--) s += rng.pick(alphabet);
  return s;
}

function randomValue(rng: Prng, depth: number): unknown {
  const kind = rng.int(0, depth > 3 ? 4 : 7);
  if (kind === 0) return null;
  if (kind === 1) return rng.bool();
  if (kind === 2) return rng.pick([0, -1, 7, 3.25, -1e-7, 1e21, 123456789, -0.5]);
  if (kind === 3 || kind === 4) return randomString(rng);
  if (kind === 5) return Array.from({ length: rng.int(0, 4) }, () => randomValue(rng, depth + 1));
  const o: Record<string, unknown> = {};
  for (let n = rng.int(0, 4); n > 0; n--) o[randomString(rng) + n] = randomValue(rng, depth + 1);
  return o;
}

// JSON.stringify with random json whitespace between tokens
function serialize(rng: Prng, v: unknown): string {
  const ws = (): string => (rng.bool(0.3) ? rng.pick([' ', '\t', '\r\n', '  ', '\n']) : '');
  if (Array.isArray(v)) return '[' + ws() + v.map((e) => serialize(rng, e)).join(ws() + ',' + ws()) + ws() + ']';
  if (typeof v === 'object' && v !== null) {
    const parts = Object.entries(v).map(([k, e]) => JSON.stringify(k) + ws() + ':' + ws() + serialize(rng, e));
    return '{' + ws() + parts.join(ws() + ',' + ws()) + ws() + '}';
  }
  return JSON.stringify(v);
}

function mutate(rng: Prng, text: string): string {
  const at = rng.int(0, text.length);
  const ch = rng.pick(['"', '\\', '[', ']', '{', '}', ',', ':', ' ', '1', '-', '.', 'e', 't', 'x', '\n', '\u00a0']);
  switch (rng.int(0, 3)) {
    case 0:
      return text.slice(0, at);
    case 1:
      return text.slice(0, at) + text.slice(at + 1);
    case 2:
      return text.slice(0, at) + ch + text.slice(at);
    default:
      return text.slice(0, at) + ch + text.slice(at + 1);
  }
}

test('json differential: counts agree with what JSON.parse builds; odd only where JSON.parse throws', () => {
  const seed = seedFromEnv(0x5ca1ab1e);
  const rng = createPrng(seed);
  let odd = 0;
  for (let round = 0; round < 3000; round++) {
    const value = randomValue(rng, 0);
    const text = serialize(rng, value);
    const where = `seed ${seed} round ${round}: ${JSON.stringify(text)}`;
    assert.deepEqual(scanJson(text, WIDE), { stop: 'end', records: jsonRecords(value), cost: jsonCost(value) }, where);

    // the same with random bounds: 'end' exactly when both hold, else it stops just past one of them
    const bounds = { maxRecords: rng.int(0, 4), maxCost: rng.int(0, 12) };
    const bounded = scanJson(text, bounds);
    if (jsonRecords(value) <= bounds.maxRecords && jsonCost(value) <= bounds.maxCost)
      assert.equal(bounded.stop, 'end', where);
    else if (bounded.stop === 'records') assert.equal(bounded.records, bounds.maxRecords + 1, where);
    else assert.deepEqual([bounded.stop, bounded.cost], ['cost', bounds.maxCost + 1], where);

    // one value a line is ndjson
    const lines = [value, randomValue(rng, 0)].map((v) => JSON.stringify(v));
    assert.deepEqual(
      scanNdjson(lines.join('\n'), WIDE),
      {
        stop: 'end',
        records: 2,
        cost: jsonCost(value) + jsonCost(JSON.parse(lines[1]!)),
      },
      where,
    );

    // broken texts: never odd while JSON.parse accepts it
    const broken = mutate(rng, text);
    const scan = scanJson(broken, WIDE);
    const bwhere = `seed ${seed} round ${round}: ${JSON.stringify(broken)}`;
    if (throwsOnParse(broken)) {
      if (scan.stop === 'odd') odd++;
    } else {
      const parsed: unknown = JSON.parse(broken);
      assert.equal(scan.stop, 'end', bwhere);
      assert.equal(scan.records, jsonRecords(parsed), bwhere);
      // a mutation may make two keys equal, and JSON.parse keeps one
      assert.ok(scan.cost >= jsonCost(parsed), bwhere);
    }
    if (scan.stop === 'odd') assert.ok(throwsOnParse(broken), bwhere);
  }
  // the mutations did produce invalid texts the scan noticed
  assert.ok(odd > 500, `only ${odd} odd texts`);
});

// values that make the encoder pick each header, with the header byte it must pick
const bytes = (n: number): Uint8Array => new Uint8Array(n).fill(7);
const WIDTHS: Array<[string, unknown, number]> = [
  ['positive fixint', 5, 0x05],
  ['negative fixint', -5, 0xfb],
  ['nil', null, 0xc0],
  ['false', false, 0xc2],
  ['true', true, 0xc3],
  ['bin8', bytes(10), 0xc4],
  ['bin16', bytes(300), 0xc5],
  ['bin32', bytes(70_000), 0xc6],
  ['ext8', new ExtData(5, bytes(3)), 0xc7],
  ['ext16', new ExtData(5, bytes(300)), 0xc8],
  ['ext32', new ExtData(5, bytes(70_000)), 0xc9],
  ['float64', 1.5, 0xcb],
  ['uint8', 200, 0xcc],
  ['uint16', 1000, 0xcd],
  ['uint32', 100_000, 0xce],
  ['uint64', 2 ** 40, 0xcf],
  ['int8', -100, 0xd0],
  ['int16', -1000, 0xd1],
  ['int32', -100_000, 0xd2],
  ['int64', -(2 ** 40), 0xd3],
  ['fixext1', new ExtData(5, bytes(1)), 0xd4],
  ['fixext2', new ExtData(5, bytes(2)), 0xd5],
  ['fixext4', new ExtData(5, bytes(4)), 0xd6],
  ['fixext8', new ExtData(5, bytes(8)), 0xd7],
  ['fixext16', new ExtData(5, bytes(16)), 0xd8],
  ['timestamp', new Date(1714557601123), 0xd7],
  ['fixstr', 'abc', 0xa3],
  ['str8', 'x'.repeat(40), 0xd9],
  ['str16', 'x'.repeat(300), 0xda],
  ['str32', 'x'.repeat(70_000), 0xdb],
  ['fixarray', [1, 'a', null], 0x93],
  ['array16', Array.from({ length: 16 }, (_, i) => i), 0xdc],
  ['array32', Array.from({ length: 65_536 }, () => 0), 0xdd],
  ['fixmap', { a: 1, b: [2] }, 0x82],
  ['map16', Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])), 0xde],
  ['map32', Object.fromEntries(Array.from({ length: 65_536 }, (_, i) => [`k${i}`, null])), 0xdf],
];

test('msgpack: every header width, alone, in a map, in an array and truncated', () => {
  const float32 = encode(1.5, { forceFloat32: true });
  assert.equal(float32[0], 0xca);
  assert.deepEqual(scanMsgpack(float32, WIDE), { stop: 'end', records: 0, cost: 1 });
  assert.equal(scanMsgpack(float32.subarray(0, 4), WIDE).stop, 'odd');
  for (const [name, value, head] of WIDTHS) {
    const alone = encode(value);
    assert.equal(alone[0], head, name);
    assert.deepEqual(
      scanMsgpack(alone, WIDE),
      { stop: 'end', records: msgpackRecords(value), cost: msgpackItems(value) },
      name,
    );
    assert.deepEqual(
      scanMsgpack(encode({ v: value }), WIDE),
      { stop: 'end', records: 1, cost: 2 + msgpackItems(value) },
      name,
    );
    assert.deepEqual(
      scanMsgpack(encode([value, 0, value]), WIDE),
      { stop: 'end', records: 3, cost: 2 + 2 * msgpackItems(value) },
      name,
    );
    // any cut inside the value is a truncated stream, left to the decoder
    for (const cut of new Set([1, 2, 3, 5, alone.length - 1])) {
      if (cut >= 1 && cut < alone.length)
        assert.equal(scanMsgpack(alone.subarray(0, cut), WIDE).stop, 'odd', `${name} cut at ${cut}`);
    }
  }
});

test('msgpack: concatenated values add up; a top-level map is one record, an array its length', () => {
  const stream = Buffer.concat([encode({ a: 1 }), encode([{ b: 2 }, 3]), encode('x'), encode([])]);
  assert.deepEqual(scanMsgpack(stream, WIDE), { stop: 'end', records: 3, cost: 3 + 5 + 1 + 1 });
  assert.deepEqual(scanMsgpack(new Uint8Array(0), WIDE), { stop: 'end', records: 0, cost: 0 });
  assert.equal(scanMsgpack(Uint8Array.of(0xc1), WIDE).stop, 'odd');
  assert.equal(scanMsgpack(Uint8Array.of(0x81, 0xa1, 0x61), WIDE).stop, 'odd');
});

test('msgpack: lengths count as soon as a header claims them', () => {
  const bounds = { maxRecords: 10, maxCost: 1000 };
  // an array32 claiming 4 billion at the top: records; one level down: values
  assert.equal(scanMsgpack(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff), bounds).stop, 'records');
  assert.deepEqual(scanMsgpack(Uint8Array.of(0x91, 0xdd, 0xff, 0xff, 0xff, 0xff), bounds), {
    stop: 'cost',
    records: 1,
    cost: 2,
  });
  assert.deepEqual(scanMsgpack(Uint8Array.of(0x81, 0xa1, 0x61, 0xdf, 0x00, 0x00, 0x02, 0x00), bounds), {
    stop: 'cost',
    records: 1,
    cost: 3,
  });
  // 2 read and 998 claimed is at the bound: a truncated stream, left to the decoder; 999 claimed is over
  assert.deepEqual(scanMsgpack(Uint8Array.of(0x91, 0xdc, 0x03, 0xe6), bounds), { stop: 'odd', records: 1, cost: 2 });
  assert.deepEqual(scanMsgpack(Uint8Array.of(0x91, 0xdc, 0x03, 0xe7), bounds), { stop: 'cost', records: 1, cost: 2 });
  // nested headers each claiming 16,368: the decoder would allocate all of them before finding the end.
  // after k of them, k + 1 read and 16,368 k - (k - 1) owed: over 1,000,000 at k = 62
  const nested = Buffer.alloc(1 + 3 * 8000, 0x91);
  for (let i = 1; i < nested.length; i += 3) nested.set([0xdc, 0x3f, 0xf0], i);
  assert.deepEqual(scanMsgpack(nested, { maxRecords: 10_000, maxCost: 1_000_000 }), {
    stop: 'cost',
    records: 1,
    cost: 63,
  });
  assert.deepEqual(scanMsgpack(nested.subarray(1), { maxRecords: 10_000, maxCost: 1_000_000 }), {
    stop: 'records',
    records: 16_368,
    cost: 1,
  });
  // records: concatenated maps
  assert.deepEqual(scanMsgpack(Buffer.alloc(100, 0x80), bounds), { stop: 'records', records: 11, cost: 11 });
});

function randomMsgpack(rng: Prng, depth: number): unknown {
  const kind = rng.int(0, depth > 3 ? 6 : 8);
  switch (kind) {
    case 0:
      return rng.pick([null, true, false]);
    case 1:
      return rng.pick([0, 5, -5, 127, 128, -33, 255, 256, 65_535, 65_536, -129, -32_769, 2 ** 32, -(2 ** 33)]);
    case 2:
      return rng.pick([1.5, -0.25, 1e300]);
    case 3:
      return 's'.repeat(rng.pick([0, 3, 31, 32, 255, 256]));
    case 4:
      return bytes(rng.pick([0, 1, 255, 256]));
    case 5:
      return new ExtData(rng.int(0, 100), bytes(rng.pick([1, 2, 3, 4, 8, 16, 17, 256])));
    case 6:
      return new Date(rng.int(0, 2 ** 40));
    case 7:
      return Array.from({ length: rng.pick([0, 1, 3, 15, 16, 20]) }, () => randomMsgpack(rng, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: rng.pick([0, 1, 3, 15, 16]) }, (_, i) => [`k${i}`, randomMsgpack(rng, depth + 1)]),
      );
  }
}

test('msgpack differential: counts agree with the decoded values; every cut is truncated and the decoder refuses it', () => {
  const seed = seedFromEnv(0xdecade);
  const rng = createPrng(seed);
  for (let round = 0; round < 300; round++) {
    const values = Array.from({ length: rng.int(1, 3) }, () => randomMsgpack(rng, 0));
    const stream = Buffer.concat(values.map((v) => encode(v)));
    const where = `seed ${seed} round ${round}`;
    const records = values.reduce((n: number, v) => n + msgpackRecords(v), 0);
    const items = values.reduce((n: number, v) => n + msgpackItems(v), 0);
    assert.deepEqual(scanMsgpack(stream, WIDE), { stop: 'end', records, cost: items }, where);
    assert.equal([...decodeMulti(stream)].length, values.length, where);
    // a cut inside the last value: the scan leaves it to the decoder, which refuses it
    const last = encode(values[values.length - 1]);
    const cut = stream.length - rng.int(1, last.length - 1 || 1);
    if (cut > stream.length - last.length) {
      assert.equal(scanMsgpack(stream.subarray(0, cut), WIDE).stop, 'odd', `${where} cut at ${cut}`);
      assert.throws(() => [...decodeMulti(stream.subarray(0, cut))], `${where} cut at ${cut}`);
    }
  }
});
