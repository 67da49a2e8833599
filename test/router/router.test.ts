import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../helpers/paths.js';
import { ConfigError } from '../../src/errors.js';
import type { SourceRecord } from '../../src/record.js';
import {
  createRouter,
  DROPPED_KEY,
  isoTime,
  ROUTER_DEFAULTS,
  TRUNCATED_KEY,
  type MatchRule,
  type RouteResult,
  type RouterOptions,
} from '../../src/router/router.js';
import { sectionDefaults } from '../../src/config/sections.js';

const T0 = Date.parse('2024-05-01T10:00:01.123Z');
const SID = '8d57a9d5-3848-5ce2-a326-85eb4a6d2eed';

// frozen inputs: any write to the record (or anything nested in it) throws in strict mode
function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Reflect.ownKeys(v)) deepFreeze((v as Record<string | symbol, unknown>)[k]);
  }
  return v;
}

function rec(record: Record<string, unknown>, tag = 'test.log', time = T0): SourceRecord {
  return deepFreeze({ tag, time, record });
}

// records are stamped T0 and the clock reads T0: no event is past routing.max-age unless a test says so
function router(rules: MatchRule[], extra: Partial<RouterOptions> = {}) {
  return createRouter({ ...sectionDefaults('routing'), rules, hostname: 'fwd-1', now: () => T0, ...extra });
}

function sent(r: RouteResult): { text: string; obj: Record<string, unknown>; rule: number } {
  assert.equal(r.kind, 'send', `expected send, got ${JSON.stringify(r)}`);
  const s = r as Extract<RouteResult, { kind: 'send' }>;
  return { text: s.value, obj: JSON.parse(s.value) as Record<string, unknown>, rule: s.rule };
}

const DD: MatchRule = { pattern: '**', type: 'datadog' };

interface MappingCase {
  name: string;
  rule: Partial<MatchRule>;
  options?: Partial<RouterOptions>;
  record: Record<string, unknown>;
  tag?: string;
  time?: number;
  /** the exact item, keys in this order */
  want: Record<string, unknown>;
}

const ts = '2024-05-01T10:00:01.123Z';
const mapping: MappingCase[] = [
  {
    name: 'adds every attribute where absent, after the record keys, in a fixed order',
    rule: { source: 'teleport', sourceCategory: 'security', service: 'teleport-auth', tags: ['env:prod', 'team:sec'] },
    record: { event: 'user.login', user: 'alice', code: 'T1000I' },
    want: {
      event: 'user.login',
      user: 'alice',
      code: 'T1000I',
      ddsource: 'teleport',
      ddsourcecategory: 'security',
      ddtags: 'env:prod,team:sec',
      service: 'teleport-auth',
      hostname: 'fwd-1',
      '@timestamp': ts,
      status: 'info',
    },
  },
  {
    name: 'only hostname and timestamp without rule options; no message is synthesized',
    rule: {},
    record: { event: 'print', data: 'bHMgLWxhDQo=' },
    want: { event: 'print', data: 'bHMgLWxhDQo=', hostname: 'fwd-1', '@timestamp': ts },
  },
  {
    name: 'the record keeps its own values',
    rule: { source: 'teleport', sourceCategory: 'sc', service: 'svc', tags: ['a:b'] },
    record: {
      ddsource: 'mine',
      ddsourcecategory: 'mine-sc',
      ddtags: 'x:y',
      service: 'my-svc',
      hostname: 'node-9',
      '@timestamp': '2020-01-01T00:00:00.000Z',
      status: 'critical',
      code: 'T1000W',
    },
    want: {
      ddsource: 'mine',
      ddsourcecategory: 'mine-sc',
      ddtags: 'x:y',
      service: 'my-svc',
      hostname: 'node-9',
      '@timestamp': '2020-01-01T00:00:00.000Z',
      status: 'critical',
      code: 'T1000W',
    },
  },
  {
    name: 'null values count as absent and are replaced at the end',
    rule: { source: 'teleport', service: 'svc' },
    record: { ddsource: null, a: 1, hostname: null, status: null, code: 'T2000I', '@timestamp': null },
    want: {
      a: 1,
      code: 'T2000I',
      ddsource: 'teleport',
      service: 'svc',
      hostname: 'fwd-1',
      '@timestamp': ts,
      status: 'info',
    },
  },
  {
    name: 'a single null attribute is replaced, not written twice',
    rule: { source: 'teleport' },
    record: { ddsource: null, a: 1 },
    want: { a: 1, ddsource: 'teleport', hostname: 'fwd-1', '@timestamp': ts },
  },
  {
    name: 'an undefined value is absent',
    rule: { source: 'teleport' },
    record: { ddsource: undefined, a: 1 },
    want: { a: 1, ddsource: 'teleport', hostname: 'fwd-1', '@timestamp': ts },
  },
  {
    name: 'false and empty strings are values, not absences',
    rule: { source: 'teleport' },
    record: { ddsource: '', hostname: false },
    want: { ddsource: '', hostname: false, '@timestamp': ts },
  },
  {
    name: 'rule hostname overrides the default',
    rule: { hostname: 'teleport.example.com' },
    record: { a: 1 },
    want: { a: 1, hostname: 'teleport.example.com', '@timestamp': ts },
  },
  {
    name: 'an empty default hostname adds none',
    rule: {},
    options: { hostname: '' },
    record: { a: 1 },
    want: { a: 1, '@timestamp': ts },
  },
  {
    name: 'empty tag list adds no ddtags',
    rule: { tags: [] },
    record: {},
    want: { hostname: 'fwd-1', '@timestamp': ts },
  },
  {
    name: 'custom timestamp key',
    rule: { timestampKey: 'timestamp' },
    record: { '@timestamp': 'kept as a plain field' },
    want: { '@timestamp': 'kept as a plain field', hostname: 'fwd-1', timestamp: ts },
  },
  {
    name: 'timestampKey "" adds no timestamp',
    rule: { timestampKey: '' },
    record: { a: 'b' },
    want: { a: 'b', hostname: 'fwd-1' },
  },
  {
    name: 'a time Date cannot represent adds no timestamp',
    rule: {},
    time: Number.NaN,
    record: { a: 'b' },
    want: { a: 'b', hostname: 'fwd-1' },
  },
  {
    name: 'millisecond precision in UTC',
    rule: {},
    time: Date.UTC(2024, 0, 2, 3, 4, 5, 6) + 0.9,
    options: { now: () => Date.UTC(2024, 0, 2, 3, 4, 5, 6) },
    record: {},
    want: { hostname: 'fwd-1', '@timestamp': '2024-01-02T03:04:05.006Z' },
  },
  {
    name: 'include_tag_key adds the tag under "tag"',
    rule: { includeTagKey: true },
    tag: `session.${SID}.log`,
    record: { event: 'print' },
    want: { event: 'print', hostname: 'fwd-1', '@timestamp': ts, tag: `session.${SID}.log` },
  },
  {
    name: 'include_tag_key overwrites the record tag field (as fluent-plugin-datadog does)',
    rule: { includeTagKey: true },
    record: { tag: 'old', z: 1 },
    want: { z: 1, hostname: 'fwd-1', '@timestamp': ts, tag: 'test.log' },
  },
  {
    name: 'include_tag_key with a custom key',
    rule: { includeTagKey: true, tagKey: 'fluentd_tag' },
    record: { tag: 'kept' },
    want: { tag: 'kept', hostname: 'fwd-1', '@timestamp': ts, fluentd_tag: 'test.log' },
  },
  {
    name: 'tagKey without includeTagKey does nothing',
    rule: { tagKey: 'fluentd_tag' },
    record: {},
    want: { hostname: 'fwd-1', '@timestamp': ts },
  },
  {
    name: 'keys that collide (tag key = service) take the object path and the tag wins',
    rule: { service: 'svc', includeTagKey: true, tagKey: 'service' },
    record: { a: 1 },
    want: { a: 1, hostname: 'fwd-1', '@timestamp': ts, service: 'test.log' },
  },
  {
    name: 'timestamp key = status: the timestamp fills it first',
    rule: { timestampKey: 'status' },
    record: { code: 'T1000W' },
    want: { code: 'T1000W', hostname: 'fwd-1', status: ts },
  },
  {
    name: 'nested values are passed through untouched',
    rule: {},
    record: { identity: { roles: ['access', 'editor'], traits: { logins: ['root'] } }, n: [1, null, true] },
    want: {
      identity: { roles: ['access', 'editor'], traits: { logins: ['root'] } },
      n: [1, null, true],
      hostname: 'fwd-1',
      '@timestamp': ts,
    },
  },
  {
    name: 'multi-byte and escaped text survives',
    rule: { service: 'ünïcødé "svc"' },
    record: { msg: '日本語 🚀 "quoted" \\ \n\t\u0001' },
    want: { msg: '日本語 🚀 "quoted" \\ \n\t\u0001', service: 'ünïcødé "svc"', hostname: 'fwd-1', '@timestamp': ts },
  },
];

for (const c of mapping) {
  test(`mapping: ${c.name}`, () => {
    const r = router([{ ...DD, ...c.rule }], c.options);
    const { text, obj } = sent(r.route(rec(c.record, c.tag, c.time)));
    assert.deepEqual(obj, c.want);
    assert.deepEqual(Object.keys(obj), Object.keys(c.want), 'key order');
    assert.equal(text, JSON.stringify(c.want));
  });
}

test('status from the last letter of a teleport event code', () => {
  const cases: Array<[unknown, string | undefined]> = [
    ['T1000I', 'info'],
    ['T1000W', 'warn'],
    ['T3002E', 'error'],
    ['TLK00I', 'info'],
    ['TDB02I', 'info'],
    ['TC000I', 'info'],
    ['T5000I', 'info'],
    ['T2005I', 'info'],
    ['T1000X', undefined],
    ['T1000w', undefined],
    ['t1000W', undefined],
    ['X1000W', undefined],
    ['E', undefined],
    ['TE', undefined],
    ['', undefined],
    [200, undefined],
    [null, undefined],
    [undefined, undefined],
    [['T1000W'], undefined],
    ['T1000W ', undefined],
  ];
  const r = router([DD]);
  for (const [code, want] of cases) {
    const record: Record<string, unknown> = code === undefined ? {} : { code };
    const { obj } = sent(r.route(rec(record)));
    assert.equal(obj.status, want, `code ${JSON.stringify(code)}`);
    if (want === undefined) assert.equal('status' in obj, false);
  }
});

test('the input record is not mutated (frozen input, same text twice)', () => {
  const r = router([{ ...DD, source: 'teleport', includeTagKey: true }]);
  const input = rec({ tag: 'x', ddsource: null, nested: { a: [1, 2] } });
  const a = sent(r.route(input)).text;
  const b = sent(r.route(input)).text;
  assert.equal(a, b);
  assert.deepEqual(input.record, { tag: 'x', ddsource: null, nested: { a: [1, 2] } });
});

test('an own "__proto__" key is kept as data', () => {
  const record = JSON.parse('{"__proto__":{"x":1},"a":"b"}') as Record<string, unknown>;
  const r = router([{ ...DD, source: 'teleport' }]);
  const { text } = sent(r.route(rec(record)));
  assert.ok(text.startsWith('{"__proto__":{"x":1},"a":"b","ddsource":"teleport"'), text);
});

// what the ingest gives a record it parsed from a body that was exactly that object (SourceRecord.text)
function withText(text: string, tag = 'test.log', time = T0): SourceRecord {
  return deepFreeze({ tag, time, record: JSON.parse(text) as Record<string, unknown>, text });
}

test("a record's own text is sent as it came, the added keys after it; the object path ignores it", () => {
  const BIG = '12345678901234567891';
  const SAME = String(JSON.parse(BIG)); // the digits the parsed record holds
  const r = router([{ ...DD, source: 'teleport', service: 'svc', tags: ['env:x'], includeTagKey: true }]);
  const text = `{"id":${BIG},"code":"T1000I","n":1.50,"s":"\\u0041"}`;
  const out = sent(r.route(withText(text))).text;
  // the text as it came, then what the serialized record would get: so the same item but for the sender's digits
  assert.ok(out.startsWith(text.slice(0, -1) + ',"ddsource":"teleport"'), out);
  const plain = sent(r.route(rec(JSON.parse(text) as Record<string, unknown>))).text;
  assert.equal(out.replace(`${BIG},`, `${SAME},`).replace('1.50', '1.5').replace('"\\u0041"', '"A"'), plain);
  // a key present with null, or the tag key to overwrite, goes the object way: the text is not used
  for (const t of [`{"id":${BIG},"service":null}`, `{"id":${BIG},"tag":"mine"}`]) {
    const viaObject = sent(r.route(withText(t))).text;
    assert.equal(viaObject, sent(r.route(rec(JSON.parse(t) as Record<string, unknown>))).text);
    assert.ok(!viaObject.includes(BIG), viaObject);
  }
  // too big for one log: cut from the record, as without the text
  const big = `{"id":${BIG},"msg":"${'x'.repeat(2_000_000)}"}`;
  const cut = sent(r.route(withText(big))).text;
  assert.equal(cut, sent(r.route(rec(JSON.parse(big) as Record<string, unknown>))).text);
  assert.ok(cut.length < 1_100_000);
});

test("an old event's own text is restamped as it came", () => {
  const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
  const r = router([DD], { now: () => NOW, oldTimestamps: 'restamp', maxAgeMs: 3_600_000 });
  const text = '{"id":12345678901234567891,"event":"user.login"}';
  const out = sent(r.route(withText(text, 'events.log', NOW - 86_400_000))).text;
  assert.ok(out.startsWith(text.slice(0, -1) + ',"original_timestamp":"2026-11-21T12:00:00.000Z"'), out);
  assert.equal(JSON.parse(out)['@timestamp'], new Date(NOW).toISOString());
});

test('bigint values are written as strings instead of failing the record', () => {
  const r = router([DD]);
  const { obj } = sent(r.route(rec({ n: 2n ** 64n })));
  assert.equal(obj.n, '18446744073709551616');
});

test('bigint values survive truncation too', () => {
  const r = router([DD], { maxLogBytes: 2048 });
  const { text, obj } = sent(r.route(rec({ n: 12345678901234567890n, data: 'd'.repeat(5000) })));
  checkFits(text, 2048);
  assert.equal(obj.n, '12345678901234567890');
});

test('a record that is not an object, or cannot be serialized, is rejected and counted', () => {
  const r = router([DD]);
  const arr = r.route({ tag: 'test.log', time: T0, record: [1, 2] as unknown as Record<string, unknown> });
  assert.equal(arr.kind, 'reject');
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const cyc = r.route({ tag: 'test.log', time: T0, record: cyclic });
  assert.equal(cyc.kind, 'reject');
  assert.match((cyc as { reason: string }).reason, /test\.log/);
  assert.deepEqual(r.stats(), {
    routed: 0,
    droppedNullRule: 0,
    unmatched: 0,
    rejected: 2,
    truncated: 0,
    oldRestamped: 0,
    oldKept: 0,
    oldDropped: 0,
  });
});

test("unmatched = reject can be overridden per record: the poller's records are dropped and counted instead", () => {
  const r = createRouter({
    ...sectionDefaults('routing'),
    rules: [{ ...DD, pattern: 'test.log' }],
    unmatched: 'reject',
    hostname: 'fwd-1',
  });
  const rec = { tag: 'other.log', time: T0, record: { event: 'x' } };
  assert.equal(r.route(rec).kind, 'reject');
  assert.deepEqual(r.route(rec, 'drop'), { kind: 'drop', reason: 'unmatched', rule: null });
  assert.equal(
    r.route({ tag: 'test.log', time: T0, record: { event: 'x' } }, 'drop').kind,
    'send',
    'rules apply as usual',
  );
  const st = r.stats();
  assert.deepEqual([st.rejected, st.unmatched, st.routed], [1, 1, 1]);
});

test('first matching rule wins; null rules drop explicitly', () => {
  const r = router([
    { pattern: 'session.*.log', type: 'null' },
    { pattern: 'test.log events.log', type: 'datadog', source: 'first' },
    { pattern: '**', type: 'datadog', source: 'catch-all' },
    { pattern: 'test.log', type: 'datadog', source: 'never' },
  ]);
  const table: Array<[string, RouteResult['kind'], number, string | undefined]> = [
    [`session.${SID}.log`, 'drop', 0, undefined],
    ['test.log', 'send', 1, 'first'],
    ['events.log', 'send', 1, 'first'],
    ['other', 'send', 2, 'catch-all'],
    ['session.log', 'send', 2, 'catch-all'],
  ];
  for (const [tag, kind, rule, source] of table) {
    const res = r.route(rec({ a: 1 }, tag));
    assert.equal(res.kind, kind, tag);
    if (res.kind === 'send') {
      assert.equal(res.rule, rule, tag);
      assert.equal(JSON.parse(res.value).ddsource, source, tag);
    } else {
      assert.deepEqual(res, { kind: 'drop', reason: 'null-rule', rule });
    }
  }
  assert.deepEqual(r.stats(), {
    routed: 4,
    droppedNullRule: 1,
    unmatched: 0,
    rejected: 0,
    truncated: 0,
    oldRestamped: 0,
    oldKept: 0,
    oldDropped: 0,
  });
});

test('unmatched records are dropped, counted and warned about at most once per 10 s', () => {
  const warnings: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  let now = 1_000_000;
  const r = router([{ pattern: 'test.log', type: 'datadog' }], {
    logger: { warn: (obj, msg) => warnings.push({ obj: obj as Record<string, unknown>, msg }) },
    now: () => now,
  });
  const route = (tag: string, at: number) => {
    now = at;
    return r.route(rec({ a: 1 }, tag));
  };
  assert.deepEqual(route('a.log', 1_000_000), { kind: 'drop', reason: 'unmatched', rule: null });
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0].obj.unmatched, 1);
  assert.equal(warnings[0].obj.sampleTag, 'a.log');
  assert.match(warnings[0].msg, /no <match> rule/);

  route('b.log', 1_001_000);
  route('b.log', 1_005_000);
  route('c.log', 1_009_999);
  assert.equal(route('test.log', 1_009_999).kind, 'send');
  assert.equal(warnings.length, 1, 'rate limited');

  route('b.log', 1_010_000);
  assert.equal(warnings.length, 2);
  assert.equal(warnings[1].obj.unmatched, 4);
  assert.equal(warnings[1].obj.sampleTag, 'b.log');
  assert.deepEqual(warnings[1].obj.tags, [
    { tag: 'b.log', count: 3 },
    { tag: 'c.log', count: 1 },
  ]);
  assert.equal(warnings[1].obj.totalUnmatched, 5);

  route('d.log', 1_015_000);
  assert.equal(warnings.length, 2);
  assert.deepEqual(r.stats(), {
    routed: 1,
    droppedNullRule: 0,
    unmatched: 6,
    rejected: 0,
    truncated: 0,
    oldRestamped: 0,
    oldKept: 0,
    oldDropped: 0,
  });
});

test('the per-tag counts between warnings stay bounded', () => {
  const warnings: Array<Record<string, unknown>> = [];
  let now = 0;
  const r = router([], { logger: { warn: (obj) => warnings.push(obj as Record<string, unknown>) }, now: () => now });
  r.route(rec({}, 'first'));
  for (let i = 0; i < 5000; i++) r.route(rec({}, `t${i}`));
  now = 10_000;
  r.route(rec({}, 'last'));
  assert.equal(warnings.length, 2);
  assert.equal(warnings[1].unmatched, 5001);
  assert.equal((warnings[1].tags as unknown[]).length, 5);
  assert.equal(r.stats().unmatched, 5002);
});

test('a long unmatched tag is shortened in warnings and reject reasons', () => {
  const warnings: Array<Record<string, unknown>> = [];
  const long = 'x.'.repeat(50_000) + 'log';
  const drop = router([], { logger: { warn: (obj) => warnings.push(obj as Record<string, unknown>) } });
  drop.route(rec({}, long));
  assert.equal(warnings[0].sampleTag, `${long.slice(0, 200)}…`);
  const reject = router([], { unmatched: 'reject' });
  const res = reject.route(rec({}, long)) as { reason: string };
  assert.ok(res.reason.length < 300);
});

test('unmatched without a logger is still counted', () => {
  const r = router([{ pattern: 'x', type: 'null' }]);
  assert.equal(r.route(rec({}, 'y')).kind, 'drop');
  assert.equal(r.stats().unmatched, 1);
});

test('unmatched = reject returns a reject result and does not warn', () => {
  const warnings: unknown[] = [];
  const r = router([{ pattern: 'test.log', type: 'datadog' }], {
    unmatched: 'reject',
    logger: { warn: (obj) => warnings.push(obj) },
  });
  const res = r.route(rec({ a: 1 }, 'nope.log'));
  assert.equal(res.kind, 'reject');
  assert.match((res as { reason: string }).reason, /nope\.log/);
  assert.equal(warnings.length, 0);
  assert.deepEqual(r.stats(), {
    routed: 0,
    droppedNullRule: 0,
    unmatched: 0,
    rejected: 1,
    truncated: 0,
    oldRestamped: 0,
    oldKept: 0,
    oldDropped: 0,
  });
});

// ---- truncation ----

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const MARKER = /…\[truncated by teleport-datadog-forwarder: (\d+) bytes removed\]$/;

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

// checks a cut string against its original: a prefix on a character boundary plus a marker with the right count
function checkCut(cut: string, original: string): string {
  const m = MARKER.exec(cut);
  assert.ok(m, `no marker at the end of ${JSON.stringify(cut.slice(-80))}`);
  const kept = cut.slice(0, m.index);
  assert.ok(original.startsWith(kept), 'kept text is a prefix of the original');
  assert.ok(!LONE_SURROGATE.test(kept), 'no half of a surrogate pair');
  assert.equal(Number(m[1]), bytes(original) - bytes(kept), 'marker counts the removed bytes');
  return kept;
}

function checkFits(text: string, max: number): Record<string, unknown> {
  assert.ok(bytes(text) <= max, `${bytes(text)} bytes > ${max}`);
  const obj = JSON.parse(text) as Record<string, unknown>;
  assert.equal(obj[TRUNCATED_KEY], true);
  return obj;
}

test('a print event with a 2 MB base64 payload is cut to fit 1 MB', () => {
  const data = Buffer.alloc(1_500_000, 7).toString('base64');
  const record = {
    ei: 12,
    event: 'print',
    time: '2024-05-01T10:00:07Z',
    ci: 3,
    bytes: 1_500_000,
    ms: 1523,
    offset: 410,
    data,
  };
  const r = router([{ ...DD, source: 'teleport', includeTagKey: true }]);
  const { text, obj } = sent(r.route(rec(record, `session.${SID}.log`)));
  const item = checkFits(text, 1_000_000);
  assert.ok(bytes(text) > 1_000_000 - 64, `cut too much: ${bytes(text)}`);
  checkCut(obj.data as string, data);
  const { data: _d, [TRUNCATED_KEY]: _t, ...rest } = item;
  assert.deepEqual(rest, {
    ei: 12,
    event: 'print',
    time: '2024-05-01T10:00:07Z',
    ci: 3,
    bytes: 1_500_000,
    ms: 1523,
    offset: 410,
    ddsource: 'teleport',
    hostname: 'fwd-1',
    '@timestamp': ts,
    tag: `session.${SID}.log`,
  });
  assert.deepEqual(r.stats(), {
    routed: 1,
    droppedNullRule: 0,
    unmatched: 0,
    rejected: 0,
    truncated: 1,
    oldRestamped: 0,
    oldKept: 0,
    oldDropped: 0,
  });
});

test('cuts land on character boundaries for every limit, with multi-byte and escaped text', () => {
  const units = ['日', '🚀', 'é', '"', '\\', '\n', '\u0001', 'a', '\u2028'];
  const text = Array.from({ length: 400 }, (_, i) => units[(i * 7) % units.length]).join('');
  const record = { msg: text, other: 'short' };
  for (let max = 1024; max < 1024 + 160; max++) {
    const r = router([DD], { maxLogBytes: max });
    const padded = { ...record, pad: 'p'.repeat(max - 900) };
    const { text: out, obj } = sent(r.route(rec(padded)));
    if (obj[TRUNCATED_KEY] === undefined) {
      assert.ok(bytes(out) <= max);
      continue;
    }
    checkFits(out, max);
    assert.ok(bytes(out) > max - 16, `limit ${max}: cut too much (${bytes(out)})`);
    assert.equal(obj.other, 'short');
    // the largest strings are cut; each one that is cut keeps a clean prefix
    for (const k of ['msg', 'pad'] as const) {
      const original = (padded as Record<string, string>)[k];
      if (obj[k] !== original) checkCut(obj[k] as string, original);
    }
  }
});

test('strings inside nested objects and arrays are cut without touching the input', () => {
  const big = 'x'.repeat(700_000);
  const record = { a: { b: [big, { c: '日'.repeat(250_000) }], keep: 'me' }, n: 1 };
  const r = router([DD]);
  const input = rec(record);
  const { text, obj } = sent(r.route(input));
  checkFits(text, 1_000_000);
  const a = obj.a as { b: [string, { c: string }]; keep: string };
  const k1 = checkCut(a.b[0], big);
  const k2 = checkCut(a.b[1].c, '日'.repeat(250_000));
  assert.equal(a.keep, 'me');
  assert.equal(obj.n, 1);
  // the largest strings are levelled to about the same size (within one character and the marker)
  assert.ok(Math.abs(bytes(k1) - bytes(k2)) < 8, `${bytes(k1)} vs ${bytes(k2)}`);
  assert.equal(input.record.a, record.a);
  assert.equal((record.a.b[0] as string).length, 700_000);
});

test('small strings are kept while the largest are cut', () => {
  const record = { small: 's'.repeat(1000), mid: 'm'.repeat(300_000), big: 'b'.repeat(900_000) };
  const { text, obj } = sent(router([DD]).route(rec(record)));
  checkFits(text, 1_000_000);
  assert.equal(obj.small, record.small);
  checkCut(obj.big as string, record.big);
  // levelling down to under 300 kB would touch `mid` too
  if (obj.mid !== record.mid) checkCut(obj.mid as string, record.mid);
});

test('a JSON text exactly at the limit is left alone; one byte more is cut', () => {
  const max = 2048;
  const r = router([{ ...DD, timestampKey: '' }], { hostname: '', maxLogBytes: max });
  const overhead = bytes(JSON.stringify({ s: '' }));
  const exact = sent(r.route(rec({ s: 'é'.repeat((max - overhead) / 2) })));
  assert.equal(bytes(exact.text), max);
  assert.equal(exact.obj[TRUNCATED_KEY], undefined);
  const over = sent(r.route(rec({ s: 'é'.repeat((max - overhead) / 2 - 1) + 'abc' })));
  checkFits(over.text, max);
  assert.equal(r.stats().truncated, 1);
});

test('when cutting strings cannot fit, the largest top-level values are dropped and named', () => {
  const record: Record<string, unknown> = { event: 'weird' };
  for (let i = 0; i < 150_000; i++) record[`k${i}`] = i;
  const r = router([{ ...DD, source: 'teleport', service: 'svc' }]);
  const { text, obj } = sent(r.route(rec(record)));
  checkFits(text, 1_000_000);
  const note = obj[DROPPED_KEY] as string;
  assert.match(
    note,
    /^…\[truncated by teleport-datadog-forwarder: dropped \d+ value\(s\) \([^()]*, and \d+ more\) to fit the 1000000-byte limit, \d+ bytes removed\]$/,
  );
  const dropped = Number(/dropped (\d+)/.exec(note)?.[1]);
  assert.equal(Object.keys(obj).length, 150_001 + 4 - dropped + 2);
  // the attributes Datadog relies on are kept
  assert.equal(obj.ddsource, 'teleport');
  assert.equal(obj.service, 'svc');
  assert.equal(obj.hostname, 'fwd-1');
  assert.equal(obj['@timestamp'], ts);
  assert.equal(obj.event, 'weird');
});

test('a huge key name is dropped with its value', () => {
  const key = 'K'.repeat(1_200_000);
  const r = router([DD]);
  const { text, obj } = sent(r.route(rec({ [key]: 1, event: 'x' })));
  checkFits(text, 1_000_000);
  assert.equal(obj.event, 'x');
  assert.equal(key in obj, false);
  assert.match(obj[DROPPED_KEY] as string, /dropped 1 value\(s\) \(K{40}\)/);
});

test('an existing truncation flag is overwritten, not duplicated', () => {
  const r = router([DD], { maxLogBytes: 4096 });
  const { text } = sent(r.route(rec({ [TRUNCATED_KEY]: 'no', data: 'z'.repeat(10_000) })));
  checkFits(text, 4096);
  assert.equal(text.split(`"${TRUNCATED_KEY}"`).length, 2);
});

test('an own "__proto__" key survives truncation as data', () => {
  const record = JSON.parse(`{"__proto__":{"big":"${'q'.repeat(5000)}"},"a":"b"}`) as Record<string, unknown>;
  const r = router([DD], { maxLogBytes: 2048 });
  const { text } = sent(r.route(rec(record)));
  assert.ok(bytes(text) <= 2048);
  const obj = JSON.parse(text) as Record<string, unknown>;
  assert.ok(Object.hasOwn(obj, '__proto__'));
  checkCut((Object.getOwnPropertyDescriptor(obj, '__proto__')?.value as { big: string }).big, 'q'.repeat(5000));
});

// ---- fixtures ----

test('every sample teleport event routes to a valid Datadog item', () => {
  const lines = readFileSync(fixture('events', 'sample.jsonl'), 'utf8').trim().split('\n');
  assert.ok(lines.length >= 10);
  const r = router([
    {
      pattern: 'session.*.log',
      type: 'datadog',
      source: 'teleport',
      service: 'teleport-sessions',
      includeTagKey: true,
    },
    { pattern: 'test.log events.log', type: 'datadog', source: 'teleport', tags: ['env:test'] },
  ]);
  const letters: Record<string, string> = { I: 'info', W: 'warn', E: 'error' };
  const statuses = new Set<unknown>();
  for (const line of lines) {
    const event = JSON.parse(line) as Record<string, unknown>;
    const tag = event.event === 'print' ? `session.${SID}.log` : 'test.log';
    const { obj } = sent(r.route(rec(event, tag, Date.parse(event.time as string))));
    for (const [k, v] of Object.entries(event)) assert.deepEqual(obj[k], v, `${event.event}: ${k}`);
    assert.equal(obj.ddsource, 'teleport');
    assert.equal(obj['@timestamp'], new Date(event.time as string).toISOString());
    const code = event.code as string | undefined;
    assert.equal(obj.status, code === undefined ? undefined : letters[code[code.length - 1]]);
    statuses.add(obj.status);
  }
  assert.deepEqual([...statuses].sort(), ['error', 'info', 'warn', undefined].sort());
});

test('isoTime matches Date#toISOString', () => {
  const values = [0, -0, 1, -1, 1.9, -1.9, 86_399_999, 86_400_000, -86_400_001, 8.64e15, -8.64e15, T0, 253402300800000];
  for (let i = 0; i < 2000; i++) values.push(Math.floor((i * 7919.123 - 5000) * 1e8), T0 + i * 3_599_999.7);
  for (const v of values) assert.equal(isoTime(v), new Date(v).toISOString(), String(v));
  for (const v of [Number.NaN, Infinity, -Infinity, 8.64e15 + 1]) assert.equal(isoTime(v), undefined);
  // a restamp formats two days in turn (the event's, today's); a third day in between
  for (let i = 0; i < 300; i++) {
    const v = [T0 + i * 1000, T0 + 3 * 86_400_000 - i, T0 - 86_400_000 + i * 7][i % (i < 100 ? 2 : 3)]!;
    assert.equal(isoTime(v), new Date(v).toISOString(), String(v));
  }
});

// ---- validation ----

// the rules' keys and the routing values are checked by the config loader (test/config); the patterns compile here
test('invalid options are rejected once, at creation, with a ConfigError', () => {
  const base: RouterOptions = { ...sectionDefaults('routing'), rules: [DD], hostname: 'h' };
  const bad: Array<[string, unknown, RegExp]> = [
    [
      'bad pattern',
      { ...base, rules: [{ pattern: 'a.{b', type: 'datadog' }] },
      /rule 1 \(pattern "a\.\{b"\).*never closed/,
    ],
    ['empty pattern', { ...base, rules: [DD, { pattern: ' ', type: 'datadog' }] }, /rule 2.*empty/],
    ['bad regex', { ...base, rules: [{ pattern: '/(/', type: 'null' }] }, /bad regular expression/],
    ['hostname', { ...base, hostname: undefined }, /hostname must be a string/],
    ['maxLogBytes small', { ...base, maxLogBytes: 100 }, /maxLogBytes must be an integer of at least 1024/],
    ['maxLogBytes fraction', { ...base, maxLogBytes: 5000.5 }, /maxLogBytes/],
    ['logger', { ...base, logger: {} }, /logger must have a warn method/],
    ['now', { ...base, now: 5 }, /now must be a function/],
  ];
  for (const [name, options, why] of bad) {
    assert.throws(
      () => createRouter(options as RouterOptions),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `${name}: ${String(err)}`);
        assert.match(err.message, why, name);
        return true;
      },
      name,
    );
  }
});

test('an empty rule list is valid: everything is unmatched', () => {
  const r = createRouter({ ...sectionDefaults('routing'), rules: [], unmatched: 'reject', hostname: 'h' });
  assert.equal(r.route(rec({})).kind, 'reject');
});

test('stats() returns a snapshot', () => {
  const r = router([DD]);
  const s = r.stats();
  r.route(rec({}));
  assert.equal(s.routed, 0);
  assert.equal(r.stats().routed, 1);
});

test('events past the indexing window: restamp, keep or drop, counted and logged', () => {
  const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
  const old = {
    tag: 'events.log',
    time: NOW - 3 * 86_400_000,
    record: { event: 'user.login', code: 'T1000I', time: '2026-11-19T12:00:00.000Z' },
  };
  const fresh = { tag: 'events.log', time: NOW - 60_000, record: { event: 'user.login', code: 'T1000I' } };
  const lines: Array<{ obj: any; msg: string }> = [];
  const logger = {
    warn: (obj: object, msg: string) => lines.push({ obj, msg }),
    info: (obj: object, msg: string) => lines.push({ obj, msg }),
  };
  const make = (policy: 'restamp' | 'keep' | 'drop') =>
    createRouter({
      ...sectionDefaults('routing'),
      rules: [{ pattern: '**', type: 'datadog' }],
      unmatched: 'drop',
      hostname: 'h',
      oldTimestamps: policy,
      maxAgeMs: 17 * 3_600_000,
      now: () => NOW,
      logger,
    });

  const restamp = make('restamp');
  const r1 = restamp.route(old);
  assert.equal(r1.kind, 'send');
  const item1 = JSON.parse((r1 as { value: string }).value);
  assert.equal(item1['@timestamp'], new Date(NOW).toISOString());
  assert.equal(item1.original_timestamp, new Date(old.time).toISOString());
  assert.equal(item1.time, '2026-11-19T12:00:00.000Z', 'the event keeps its own time key');
  const f1 = JSON.parse((restamp.route(fresh) as { value: string }).value);
  assert.equal(f1['@timestamp'], new Date(fresh.time).toISOString());
  assert.equal(f1.original_timestamp, undefined);
  assert.equal(restamp.stats().oldRestamped, 1);
  // the first old event is logged at once, so the policy is seen to be active
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.obj.policy, 'restamp');
  assert.equal(lines[0]!.obj.events, 1);
  assert.equal(lines[0]!.obj.sinceStart.restamped, 1, 'the totals include the event logged');

  const keep = make('keep');
  const k = JSON.parse((keep.route(old) as { value: string }).value);
  assert.equal(k['@timestamp'], new Date(old.time).toISOString());
  assert.equal(keep.stats().oldKept, 1);

  const drop = make('drop');
  assert.deepEqual(drop.route(old), { kind: 'drop', reason: 'too-old', rule: 0 });
  assert.equal(drop.stats().oldDropped, 1);
  assert.equal(drop.route(fresh).kind, 'send');
});

test('restamp appends original_timestamp to the text: the same text as routing a stamped copy of the record', () => {
  const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
  const OLD = NOW - 3 * 86_400_000 + 123;
  // the former restamp: a copy of the record with original_timestamp added, stamped now, routed as usual
  const copy = (r: SourceRecord): SourceRecord => {
    const record = r.record;
    if (typeof record !== 'object' || record === null || Array.isArray(record)) return r;
    return { tag: r.tag, time: NOW, record: { ...record, original_timestamp: isoTime(r.time) ?? r.time } };
  };
  const ruleSets: MatchRule[][] = [
    [{ pattern: '**', type: 'datadog' }],
    [
      {
        pattern: '**',
        type: 'datadog',
        source: 'teleport',
        sourceCategory: 'audit',
        service: 'svc',
        tags: ['env:prod', 'team:x'],
        includeTagKey: true,
      },
    ],
    [{ pattern: '**', type: 'datadog', timestampKey: '' }],
    [{ pattern: '**', type: 'datadog', timestampKey: 'original_timestamp' }],
    [{ pattern: '**', type: 'datadog', includeTagKey: true, tagKey: 'original_timestamp' }],
    [{ pattern: '**', type: 'datadog', source: 'a', tags: ['ddsource:x'], includeTagKey: true, tagKey: 'ddsource' }],
  ];
  const withProto = JSON.parse('{"__proto__": {"hostname": "inherited"}, "a": 1}') as Record<string, unknown>;
  Object.setPrototypeOf(withProto, { hostname: 'inherited' });
  const records: Array<Record<string, unknown>> = [
    {},
    { event: 'user.login', code: 'T1000I', uid: 'u1', time: '2026-11-19T12:00:00.000Z', user: 'alice', success: true },
    {
      event: 'session.start',
      code: 'T2000W',
      nested: { a: [1, 'two', null, { b: 'ü😀' }] },
      '10': 'int key',
      '2': 'two',
      ключ: '\u2028',
    },
    { event: 'x', status: null, hostname: null },
    { event: 'x', status: 'custom', ddsource: 'mine', '@timestamp': 'own', tag: 'own tag' },
    { event: 'x', original_timestamp: 'already there', z: 1 },
    { event: 'x', original_timestamp: undefined, z: 1 },
    { event: 'x', big: 12345678901234567890n },
    { event: 'x', toJSON: () => ({ replaced: true }) },
    { event: 'x', huge: 'y'.repeat(1_100_000) },
    Object.assign(Object.create(null) as Record<string, unknown>, { event: 'null prototype' }),
    withProto,
  ];
  const times = [OLD, -Infinity, NOW - 86_400_000 * 400];
  let compared = 0;
  for (const rules of ruleSets) {
    const restamp = createRouter({
      ...sectionDefaults('routing'),
      rules,
      unmatched: 'drop',
      hostname: 'h',
      oldTimestamps: 'restamp',
      now: () => NOW,
    });
    const plain = createRouter({
      ...sectionDefaults('routing'),
      rules,
      hostname: 'h',
      maxAgeMs: 0, // no age check
      now: () => NOW,
    });
    for (const record of records) {
      for (const time of times) {
        const r = { tag: 'events.log', time, record };
        const got = restamp.route(r);
        const want = plain.route(copy(r));
        assert.deepEqual(
          got,
          want,
          `rules ${JSON.stringify(rules)}, record ${Object.keys(record).join(',')}, time ${time}`,
        );
        compared++;
      }
    }
    // arrays and other non-objects are rejected either way
    const bad = { tag: 'events.log', time: OLD, record: [1, 2] as unknown as Record<string, unknown> };
    assert.deepEqual(restamp.route(bad), plain.route(copy(bad)));
    const a = restamp.stats();
    const b = plain.stats();
    assert.equal(a.oldRestamped, records.length * times.length + 1);
    assert.deepEqual({ ...a, oldRestamped: 0 }, b);
  }
  assert.equal(compared, ruleSets.length * records.length * times.length);
  // the text path is taken: the key sits right after the record's own keys
  const r = createRouter({
    ...sectionDefaults('routing'),
    rules: [{ pattern: '**', type: 'datadog' }],
    unmatched: 'drop',
    hostname: 'h',
    oldTimestamps: 'restamp',
    now: () => NOW,
  });
  assert.equal(
    sent(r.route(rec({ a: 1 }, 'events.log', OLD))).text,
    `{"a":1,"original_timestamp":"${new Date(OLD).toISOString()}","hostname":"h","@timestamp":"${new Date(NOW).toISOString()}"}`,
  );
});

// a clock and timers the test moves by hand: a timer runs when advance() passes its time
function fakeTime(start: number) {
  let t = start;
  let timers: Array<{ at: number; fn: () => void }> = [];
  return {
    now: () => t,
    setTimer(fn: () => void, ms: number): () => void {
      const timer = { at: t + ms, fn };
      timers.push(timer);
      return () => (timers = timers.filter((x) => x !== timer));
    },
    advance(ms: number): void {
      t += ms;
      for (;;) {
        const due = timers.filter((x) => x.at <= t).sort((a, b) => a.at - b.at)[0];
        if (!due) return;
        timers = timers.filter((x) => x !== due);
        due.fn();
      }
    },
    pending: () => timers.length,
  };
}

function oldRouter(
  policy: 'restamp' | 'keep' | 'drop',
  time: ReturnType<typeof fakeTime>,
  lines: Array<{ obj: any; msg: string }>,
) {
  const log = (obj: object, msg: string) => lines.push({ obj, msg });
  return createRouter({
    ...sectionDefaults('routing'),
    rules: [{ pattern: '**', type: 'datadog' }],
    unmatched: 'drop',
    hostname: 'h',
    oldTimestamps: policy,
    now: time.now,
    setTimer: time.setTimer,
    logger: { warn: log, info: log },
  });
}

const STAT_OF = { restamp: 'oldRestamped', keep: 'oldKept', drop: 'oldDropped' } as const;

test('old events: the logged counts add up to the events the policy applied to, across intervals and at flush', () => {
  const N = 1000;
  const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
  for (const policy of ['restamp', 'keep', 'drop'] as const) {
    const time = fakeTime(NOW);
    const lines: Array<{ obj: any; msg: string }> = [];
    const r = oldRouter(policy, time, lines);
    // 1,000 old events 150 ms apart: 150 s, across two interval ends; a fresh event now and then is not counted
    for (let i = 0; i < N; i++) {
      r.route({ tag: 'events.log', time: time.now() - 20 * 3_600_000, record: { i } });
      if (i % 100 === 0) r.route({ tag: 'events.log', time: time.now(), record: { fresh: i } });
      time.advance(150);
    }
    assert.equal(r.stats()[STAT_OF[policy]], N);
    assert.equal(lines[0]!.obj.events, 1, `${policy}: the first old event is logged at once`);
    assert.ok(lines.length >= 3, `${policy}: the interval ends logged what came since (${lines.length} lines)`);
    const before = lines.length;
    r.flush();
    assert.equal(lines.length, before + 1, `${policy}: flush logs the remainder`);
    assert.equal(time.pending(), 0, `${policy}: flush cancels the timer`);
    const sum = lines.reduce((n, l) => n + l.obj.events, 0);
    assert.equal(sum, N, `${policy}: logged counts ${lines.map((l) => l.obj.events).join('+')}`);
    for (const l of lines) {
      assert.equal(l.obj.policy, policy);
      assert.match(l.msg, new RegExp(`= ${policy}: ${l.obj.events} events? older than 17h`));
      assert.equal(typeof l.obj.periodMs, 'number');
    }
    assert.match(lines.at(-1)!.msg, /in the last \d/, 'the period the count covers');
    assert.equal(lines.at(-1)!.obj.sinceStart[{ restamp: 'restamped', keep: 'kept', drop: 'dropped' }[policy]], N);
    // one count in the line itself, and datadog's window as the readme gives it
    for (const l of lines) {
      assert.equal(l.msg.match(/\d+ events?\b/g)?.length, 1, l.msg);
      assert.match(l.msg, /a margin under the 18 h Datadog indexes logs for as current/);
      assert.equal(l.obj.restamped, undefined, 'totals only under sinceStart');
    }

    r.flush();
    assert.equal(lines.length, before + 1, `${policy}: nothing left, nothing logged`);
  }
});

test('old events: counts add up when no timer runs (one long synchronous backfill)', () => {
  const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
  const lines: Array<{ obj: any; msg: string }> = [];
  let clock = NOW;
  const stuck = createRouter({
    ...sectionDefaults('routing'),
    rules: [{ pattern: '**', type: 'datadog' }],
    unmatched: 'drop',
    hostname: 'h',
    oldTimestamps: 'drop',
    now: () => clock,
    setTimer: () => () => {},
    logger: { warn: (obj, msg) => lines.push({ obj, msg }) },
  });
  for (let i = 0; i < 1000; i++) {
    stuck.route({ tag: 'x', time: 0, record: {} });
    clock += 150;
  }
  stuck.flush();
  assert.ok(lines.length > 2, 'a line each time an interval had passed');
  assert.equal(
    lines.reduce((n, l) => n + l.obj.events, 0),
    1000,
    lines.map((l) => l.obj.events).join('+'),
  );
});

test('old events: flush with none pending logs nothing; a quiet interval then logs the next event at once', () => {
  const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
  const time = fakeTime(NOW);
  const lines: Array<{ obj: any; msg: string }> = [];
  const r = oldRouter('keep', time, lines);
  r.flush();
  assert.equal(lines.length, 0, 'no old events: nothing to log');
  r.route({ tag: 'x', time: 0, record: {} });
  r.flush();
  assert.deepEqual(
    lines.map((l) => l.obj.events),
    [1],
    'the one event was logged at once; flush adds nothing',
  );
  assert.equal(time.pending(), 0, 'no timer for nothing');
  time.advance(ROUTER_DEFAULTS.oldLogIntervalMs * 5);
  r.route({ tag: 'x', time: 0, record: {} });
  assert.deepEqual(
    lines.map((l) => l.obj.events),
    [1, 1],
  );
  r.route({ tag: 'x', time: 0, record: {} });
  assert.equal(lines.length, 2, 'within the interval: counted, not logged');
  assert.equal(time.pending(), 1);
  time.advance(ROUTER_DEFAULTS.oldLogIntervalMs);
  assert.deepEqual(
    lines.map((l) => l.obj.events),
    [1, 1, 1],
    'logged at the end of the interval',
  );
  r.flush();
  assert.equal(lines.length, 3);
});

test('old events without a logger set no timer', () => {
  const time = fakeTime(Date.UTC(2026, 10, 22, 12, 0, 0));
  const r = createRouter({
    ...sectionDefaults('routing'),
    rules: [{ pattern: '**', type: 'datadog' }],
    unmatched: 'drop',
    hostname: 'h',
    oldTimestamps: 'drop',
    now: time.now,
    setTimer: time.setTimer,
  });
  for (let i = 0; i < 10; i++) r.route({ tag: 'x', time: 0, record: {} });
  assert.equal(time.pending(), 0);
  r.flush();
  assert.equal(r.stats().oldDropped, 10);
});

test('service, tags and hostname from the record with record_transformer placeholders', () => {
  const router = createRouter({
    ...sectionDefaults('routing'),
    rules: [
      {
        pattern: '**',
        type: 'datadog',
        service: 'teleport-${tag_parts[0]}',
        tags: ['teleport_cluster:${record["cluster_name"]}', 'env:prod', '${record["missing"]}', 'n:${record["n"]}'],
        hostname: '${record["host"]}',
      },
    ],
    unmatched: 'drop',
    hostname: 'default-host',
  });
  const send = (r: RouteResult) => {
    assert.equal(r.kind, 'send');
    return JSON.parse((r as { value: string }).value);
  };
  const a = send(router.route(rec({ cluster_name: 'tele.example.com', host: 'node-1', n: 3 }, 'events.log')));
  assert.equal(a.service, 'teleport-events');
  assert.equal(a.ddtags, 'teleport_cluster:tele.example.com,env:prod,n:3');
  assert.equal(a.hostname, 'node-1');
  // a value that does not resolve is empty: the hostname is left out; a comma cannot split a tag
  const b = send(router.route(rec({ cluster_name: 'a,b' }, 'x.y')));
  assert.equal(b.service, 'teleport-x');
  assert.equal(b.ddtags, 'teleport_cluster:a_b,env:prod,n:');
  assert.equal('hostname' in b, false);
  // the record's own values win, as with static values
  const c = send(router.route(rec({ service: 'mine', cluster_name: 'c' }, 'e.f')));
  assert.equal(c.service, 'mine');
});
