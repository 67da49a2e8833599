// decoder.ts against the proto-loader path it replaces: the same bytes (from protobufjs through proto-loader's
// serializers, from the fake's hand-written encoder, and hand-made edge cases) must give deepEqual events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS, PROTO_DIR, type RawEvent, type RawExportEvent } from '../../../src/sources/teleport/client.js';
import { decodeEventMessage, decodeEventsPage, decodeExportEvent } from '../../../src/sources/teleport/decoder.js';
import { decodeEvent, decodeWireEvent } from '../../../src/sources/teleport/events.js';
import { encodeEvent, encodeEventsPage, encodeExportEvent } from '../../../src/fakes/teleport-wire.js';
import type { FakeEvent } from '../../../src/fakes/teleport-dataset.js';

const def = protoLoader.loadSync(['teleport/auditlog/v1/auditlog.proto'], {
  ...LOADER_OPTIONS,
  includeDirs: [PROTO_DIR],
});
const service = def['teleport.auditlog.v1.AuditLogService'] as protoLoader.ServiceDefinition;
const exportM = service.ExportUnstructuredEvents!;
const streamM = service.StreamUnstructuredSessionEvents!;
const searchM = service.GetUnstructuredEvents!;

const NOW = 1_700_000_000_000;

/** decodes export bytes both ways and checks they agree; returns the new result */
function sameExport(bytes: Buffer) {
  const old = exportM.responseDeserialize(bytes) as RawExportEvent;
  const neu = decodeExportEvent(bytes);
  assert.equal(neu.cursor, old.cursor);
  assert.equal(neu.event === null, old.event === null);
  if (old.event && neu.event) {
    const a = decodeEvent(old.event, NOW);
    const b = decodeWireEvent(neu.event, NOW);
    assert.deepStrictEqual(b, a);
    // same key order, so the router writes the same text
    assert.equal(JSON.stringify(b.record), JSON.stringify(a.record));
  }
  return neu;
}

function sameEvent(bytes: Buffer) {
  const a = decodeEvent(streamM.responseDeserialize(bytes) as RawEvent, NOW);
  const b = decodeWireEvent(decodeEventMessage(bytes), NOW);
  assert.deepStrictEqual(b, a);
  assert.equal(JSON.stringify(b.record), JSON.stringify(a.record));
  return b;
}

// protobufjs object form of google.protobuf.Value
const sv = (v: string) => ({ stringValue: v });
const nv = (v: number) => ({ numberValue: v });

test('protobufjs-encoded exports: nested structs, lists, null, numbers, unicode, empty strings, int64 index', () => {
  const unstructured = {
    fields: {
      event: sv('user.login'),
      empty: sv(''),
      uni: sv('héllo wörld ✓ 日本語 😀 \u0000 \u2028'),
      n: nv(-12.5),
      big: nv(2 ** 60),
      zero: nv(-0),
      inf: nv(Infinity),
      nan: nv(NaN),
      t: { boolValue: true },
      f: { boolValue: false },
      z: { nullValue: 'NULL_VALUE' },
      nothing: {},
      '': sv('empty key'),
      '10': sv('integer-like keys come first'),
      '2': sv('two'),
      nested: {
        structValue: {
          fields: {
            a: {
              structValue: {
                fields: {
                  b: {
                    listValue: {
                      values: [
                        sv('x'),
                        nv(1),
                        { nullValue: 0 },
                        { structValue: { fields: {} } },
                        { listValue: { values: [] } },
                      ],
                    },
                  },
                },
              },
            },
          },
        },
      },
      emptyStruct: { structValue: { fields: {} } },
      emptyList: { listValue: { values: [] } },
      'ключ 🔑': sv('unicode key'),
    },
  };
  const cases = [
    {
      event: {
        type: 'user.login',
        id: 'a1',
        time: { seconds: '1714557601', nanos: 123_456_789 },
        index: '0',
        unstructured,
      },
      cursor: 'c1',
    },
    { event: { type: '', id: '', time: null, index: '9007199254740993', unstructured }, cursor: '' },
    { event: { type: 'x', id: 'y', time: { seconds: '-5', nanos: 0 }, index: '-3', unstructured: null }, cursor: 'ü' },
    {
      event: {
        type: 'x',
        id: 'y',
        time: { seconds: '0', nanos: 999_999_999 },
        index: '2147483648',
        unstructured: { fields: { time: sv('2024-05-01T10:00:01.123Z') } },
      },
      cursor: 'c',
    },
    {
      event: {
        type: 'x',
        id: 'y',
        time: { seconds: '0', nanos: -5 },
        index: '-9223372036854775808',
        unstructured: { fields: { time: sv('not a date') } },
      },
      cursor: 'c',
    },
    {
      event: {
        type: 'x',
        id: 'y',
        time: { seconds: '9223372036854775807', nanos: 0 },
        index: '18014398509481985',
        unstructured: { fields: {} },
      },
      cursor: 'c',
    },
    { event: null, cursor: 'only a cursor' },
  ];
  for (const c of cases) sameExport(exportM.responseSerialize(c));
  const big = sameExport(exportM.responseSerialize(cases[1]!));
  assert.equal(big.event!.index, 9007199254740992); // the nearest double, as Number('9007199254740993') gives
  assert.deepEqual(
    Object.keys(decodeExportEvent(exportM.responseSerialize(cases[0]!)).event!.unstructured).slice(0, 3),
    ['2', '10', 'event'],
  );
});

// a small seeded prng (mulberry32)
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = [
  'a',
  'b',
  'Z',
  '0',
  '9',
  ' ',
  '_',
  '.',
  'é',
  'ß',
  '日',
  '😀',
  '"',
  '\\',
  '\n',
  '\u0001',
  '\u07ff',
  '\uffff',
];

function randomString(r: () => number): string {
  let s = '';
  const n = Math.floor(r() * (r() < 0.1 ? 200 : 12));
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)];
  return s;
}

function randomJson(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 3 ? 4 : 6));
  switch (k) {
    case 0:
      return randomString(r);
    case 1:
      return [0, -1, 1.5, 2 ** 53 + 2, -1e-300, 1e308, Math.floor(r() * 1e9)][Math.floor(r() * 7)];
    case 2:
      return r() < 0.5;
    case 3:
      return null;
    case 4: {
      const out: unknown[] = [];
      const n = Math.floor(r() * 5);
      for (let i = 0; i < n; i++) out.push(randomJson(r, depth + 1));
      return out;
    }
    default:
      return randomObject(r, depth + 1);
  }
}

function randomObject(r: () => number, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const n = Math.floor(r() * 8);
  for (let i = 0; i < n; i++) {
    const key = r() < 0.1 ? String(Math.floor(r() * 100)) : randomString(r);
    if (key === '__proto__') continue;
    out[key] = randomJson(r, depth);
  }
  return out;
}

test('random events from the fake encoder decode the same both ways (export, session stream, search page)', () => {
  const r = prng(20261122);
  const items: Buffer[] = [];
  for (let i = 0; i < 400; i++) {
    const json = randomObject(r, 0);
    json.event = 'session.command';
    const e: FakeEvent = {
      type: r() < 0.2 ? '' : 'session.command',
      id: randomString(r),
      index: r() < 0.3 ? 0 : Math.floor(r() * 2 ** 40),
      timeMs: r() < 0.1 ? 0 : 1_600_000_000_000 + Math.floor(r() * 1e11),
      json: json as FakeEvent['json'],
    };
    const d = sameExport(encodeExportEvent(e, randomString(r)));
    assert.deepEqual(d.event!.unstructured, json);
    sameEvent(encodeEvent(e));
    items.push(encodeEvent(e));
  }
  const page = encodeEventsPage(items.slice(0, 50), 'next-key');
  const old = searchM.responseDeserialize(page) as { items: RawEvent[]; last_key: string };
  const neu = decodeEventsPage(page);
  assert.equal(neu.lastKey, old.last_key);
  assert.deepStrictEqual(
    neu.items.map((e) => decodeWireEvent(e, NOW)),
    old.items.map((e) => decodeEvent(e, NOW)),
  );
  const empty = decodeEventsPage(Buffer.alloc(0));
  assert.deepEqual(empty, { items: [], lastKey: '' });
});

// hand-made bytes for what no encoder writes: repeated fields, several Value kinds, unknown fields
const varint = (n: bigint): number[] => {
  let v = BigInt.asUintN(64, n);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
};
const fld = (f: number, body: Buffer | string) => {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  return Buffer.concat([Buffer.from([(f << 3) | 2, ...varint(BigInt(b.length))]), b]);
};
const vint = (f: number, n: bigint) => Buffer.from([f << 3, ...varint(n)]);
const dbl = (f: number, x: number) => {
  const b = Buffer.alloc(9);
  b[0] = (f << 3) | 1;
  b.writeDoubleLE(x, 1);
  return b;
};
const cat = (...b: Buffer[]) => Buffer.concat(b);
const entry = (k: string, v: Buffer) => fld(1, cat(fld(1, k), fld(2, v)));
const unknowns = cat(
  vint(11, 300n),
  Buffer.from([(12 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8]),
  Buffer.from([(13 << 3) | 5, 1, 2, 3, 4]),
  fld(14, 'skip me'),
  Buffer.from([(9 << 3) | 3, 8, 1, (9 << 3) | 4]),
);
const withEvent = (ev: Buffer) => cat(fld(1, ev), fld(2, 'cur'));

test('edge cases: repeated fields, several kinds, unknown fields, negative and long varints, __proto__', () => {
  const struct = cat(
    entry('multi', cat(fld(3, 'x'), dbl(2, 1))), // string beats number
    entry('multi2', cat(dbl(2, 1), vint(4, 1n))), // number beats bool
    entry('multi3', cat(fld(6, fld(1, fld(3, 'l'))), fld(5, entry('s', fld(3, 'v'))))), // struct beats list
    entry('dupstruct', fld(5, entry('x', fld(3, '1')))),
    entry('dupstruct', fld(5, entry('y', fld(3, '2')))), // the last wins, no merge, first position kept
    entry('lists', cat(fld(6, fld(1, fld(3, '1'))), fld(6, fld(1, fld(3, '2'))))),
    entry('nullenum', vint(1, 7n)),
    entry('empty', Buffer.alloc(0)),
    entry('unk', cat(unknowns, fld(3, 'after unknowns'))),
    fld(1, cat(fld(2, fld(3, 'value before key')), fld(1, 'reordered'))),
    fld(1, fld(2, fld(3, 'no key'))),
    entry('__proto__', fld(3, 'a string prototype is ignored')),
    entry('hasOwnProperty', fld(3, 'x')),
    unknowns,
  );
  const ev = cat(
    fld(1, 'first type'),
    fld(1, 'session.start'),
    fld(2, 'id'),
    fld(3, cat(vint(1, 5n), vint(2, 7n))),
    fld(3, cat(vint(1, 1714557601n), vint(2, BigInt.asUintN(64, -1n)))), // the last timestamp wins; nanos -1
    vint(4, -2n), // negative index: 10 bytes
    fld(5, entry('dropped', fld(3, 'the last struct wins'))),
    fld(5, struct),
    unknowns,
  );
  const d = sameExport(withEvent(ev));
  assert.equal(d.event!.index, -2);
  assert.equal(d.event!.type, 'session.start');
  assert.equal(d.event!.unstructured.multi, 'x');
  // a __proto__ key holding an object becomes the record's prototype on the old path: the same here
  const proto = withEvent(
    cat(
      fld(2, 'p'),
      fld(5, cat(entry('__proto__', fld(5, entry('sid', fld(3, 'inherited')))), entry('a', fld(3, 'b')))),
    ),
  );
  const a = decodeEvent((exportM.responseDeserialize(proto) as RawExportEvent).event!, NOW).record;
  const b = decodeExportEvent(proto).event!.unstructured;
  assert.deepEqual({ ...b }, { ...a });
  assert.deepStrictEqual(Object.getPrototypeOf(b), Object.getPrototypeOf(a));
  assert.equal(b.sid, 'inherited');
  // int64 index: 2^31, 2^32 + 1, 2^53 + 1, 2^63 - 1, all 10-byte negatives
  for (const n of [2n ** 31n, 2n ** 32n + 1n, 2n ** 53n + 1n, 2n ** 63n - 1n, -1n, -(2n ** 31n), -(2n ** 63n)]) {
    sameExport(withEvent(cat(fld(1, 't'), vint(4, n))));
    sameExport(withEvent(cat(fld(1, 't'), fld(3, vint(1, n)))));
  }
  sameExport(Buffer.alloc(0));
  sameExport(cat(unknowns, fld(2, 'c')));
});

// protobufjs cuts a string that runs past the end short without an error; the decoder rejects it (a grpc
// message arrives whole, so only a broken peer sends one)
test('broken messages are errors where they are on the proto-loader path, and a cut string is one too', () => {
  const good = withEvent(cat(fld(1, 't'), fld(5, entry('a', fld(3, 'some text')))));
  let rejected = 0;
  for (let cut = 1; cut < good.length; cut++) {
    const bytes = good.subarray(0, cut);
    let newFailed = false;
    try {
      decodeExportEvent(bytes);
    } catch (err) {
      assert.ok(err instanceof RangeError);
      newFailed = true;
      rejected++;
    }
    if (!newFailed) sameExport(bytes);
    else {
      let oldFailed = false;
      try {
        exportM.responseDeserialize(bytes);
      } catch {
        oldFailed = true;
      }
      if (!oldFailed)
        assert.ok(cut > good.length - 4, `only the cursor string may be cut short on the old path (cut ${cut})`);
    }
  }
  assert.ok(rejected > good.length / 2);
  // a map entry without a value
  const noValue = withEvent(fld(5, fld(1, fld(1, 'k'))));
  assert.throws(() => exportM.responseDeserialize(noValue));
  assert.throws(() => decodeExportEvent(noValue), /without a value/);
  assert.throws(() => decodeExportEvent(Buffer.from([0x1f])), /wire type/);
});
