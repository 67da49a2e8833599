import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SourceRecord } from '../../src/record.js';
import { compileRule, type MatchRule } from '../../src/router/rules.js';
import {
  appendable,
  buildItem,
  fits,
  ORIGINAL_PREFIX,
  restamped,
  serializeFast,
  statusOf,
  stringify,
} from '../../src/router/serialize.js';

const T = Date.parse('2024-05-01T10:00:01.123Z');
const TS = '2024-05-01T10:00:01.123Z';
const rule = (r: Partial<MatchRule> = {}) => compileRule({ pattern: '**', type: 'datadog', ...r }, 0, 'h');

interface SerializeCase {
  name: string;
  rule: Partial<MatchRule>;
  record: Record<string, unknown>;
  /** the text of both paths */
  want: string;
  /** the fast path gives way to the object path ('') */
  slow?: boolean;
}

const cases: SerializeCase[] = [
  {
    name: 'added keys after the record, in a fixed order',
    rule: { source: 'teleport', service: 'audit', includeTagKey: true },
    record: { event: 'user.login', code: 'T1000W' },
    want: `{"event":"user.login","code":"T1000W","ddsource":"teleport","service":"audit","hostname":"h","@timestamp":"${TS}","status":"warn","tag":"events.log"}`,
  },
  {
    name: 'an empty record',
    rule: {},
    record: {},
    want: `{"hostname":"h","@timestamp":"${TS}"}`,
  },
  {
    name: "the record's own values win",
    rule: { service: 'audit' },
    record: { service: 'mine', hostname: 'n', '@timestamp': 'x', status: 'ok' },
    want: '{"service":"mine","hostname":"n","@timestamp":"x","status":"ok"}',
  },
  {
    name: 'a null value is replaced, on the object path',
    rule: { service: 'audit' },
    record: { service: null, a: 1 },
    want: `{"a":1,"service":"audit","hostname":"h","@timestamp":"${TS}"}`,
    slow: true,
  },
  {
    name: 'a null status gets the code status, on the object path',
    rule: { timestampKey: '' },
    record: { status: null, code: 'T2000E' },
    want: '{"code":"T2000E","hostname":"h","status":"error"}',
    slow: true,
  },
  {
    name: "include_tag_key overwrites the record's tag key, moved to the end, on the object path",
    rule: { includeTagKey: true, timestampKey: '' },
    record: { tag: 'old', a: 1 },
    want: '{"a":1,"hostname":"h","tag":"events.log"}',
    slow: true,
  },
  {
    name: 'no status for a code that is not a teleport one',
    rule: { timestampKey: '' },
    record: { code: 'X1' },
    want: '{"code":"X1","hostname":"h"}',
  },
];

for (const c of cases) {
  test(`serialize: ${c.name}`, () => {
    const r = rule(c.rule);
    const rec: SourceRecord = { tag: 'events.log', time: T, record: c.record };
    const before = JSON.stringify(c.record);
    const fast = serializeFast(r, c.record, T, rec.tag, '');
    assert.equal(fast, c.slow ? '' : c.want);
    assert.equal(stringify(buildItem(r, c.record, rec)), c.want);
    assert.equal(JSON.stringify(c.record), before, 'the record is not written');
  });
}

test('serializeFast: appended text comes right after the record keys', () => {
  const r = rule({ timestampKey: '' });
  assert.equal(serializeFast(r, { a: 1 }, T, 't', ',"x":2'), '{"a":1,"x":2,"hostname":"h"}');
  assert.equal(serializeFast(r, {}, T, 't', ',"x":2'), '{"x":2,"hostname":"h"}');
});

test('statusOf: the last letter of a teleport event code', () => {
  const table: Array<[unknown, string | undefined]> = [
    ['T1000I', 'info'],
    ['T1000W', 'warn'],
    ['T2000E', 'error'],
    ['TP03I', 'info'],
    ['T1000X', undefined],
    ['t1000I', undefined],
    ['T1I', undefined],
    ['T123456789I', undefined],
    [1000, undefined],
    [undefined, undefined],
  ];
  for (const [code, want] of table) assert.equal(statusOf(code), want, String(code));
});

test('fits: the UTF-8 byte length against the limit', () => {
  const table: Array<[string, number, boolean]> = [
    ['abc', 3, true],
    ['abcd', 3, false],
    ['é', 2, true],
    ['é', 1, false],
    ['€€', 6, true],
    ['€€', 5, false],
    ['a'.repeat(10), 30, true],
  ];
  for (const [s, max, want] of table) assert.equal(fits(s, max), want, `${s} <= ${max}`);
});

test('stringify: bigints become strings instead of failing', () => {
  assert.equal(stringify({ a: 1n, b: [2n] }), '{"a":"1","b":["2"]}');
  assert.equal(stringify({ a: 1 }), '{"a":1}');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => stringify(cyclic), TypeError);
});

test('appendable: a plain object without original_timestamp or toJSON', () => {
  const table: Array<[unknown, boolean]> = [
    [{ a: 1 }, true],
    [{}, true],
    [{ original_timestamp: 'x' }, false],
    [{ toJSON: () => 1 }, false],
    [Object.create({ inherited: 1 }), false],
    [Object.create(null), false],
    [[1], false],
    [null, false],
    ['text', false],
  ];
  for (const [v, want] of table) assert.equal(appendable(v), want, JSON.stringify(v));
});

test('restamped: a copy stamped now, the event time kept after its keys', () => {
  const now = T + 86_400_000;
  const rec: SourceRecord = { tag: 't', time: T, record: { a: 1 } };
  const out = restamped(rec, now);
  assert.deepEqual(out, { tag: 't', time: now, record: { a: 1, original_timestamp: TS } });
  assert.deepEqual(rec.record, { a: 1 }, 'the input is not written');
  const nan: SourceRecord = { tag: 't', time: NaN, record: {} };
  assert.ok(Number.isNaN(restamped(nan, now).record.original_timestamp as number));
  const notObject = { tag: 't', time: T, record: 'x' } as unknown as SourceRecord;
  assert.equal(restamped(notObject, now), notObject);
  // the text path appends this prefix: the same text as the copy's
  const r = rule({ timestampKey: '' });
  const text = serializeFast(r, { a: 1 }, now, 't', ORIGINAL_PREFIX + JSON.stringify(TS));
  assert.equal(text, stringify(buildItem(r, out.record as Record<string, unknown>, out)));
});
