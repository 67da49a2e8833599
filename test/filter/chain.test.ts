// the chain runs filters in order on the tags they match, counts per filter, and leaves records unwritten;
// redact replaces or pseudonymises with a keyed HMAC
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createFilterChain, type FilterSpec } from '../../src/filter/chain.js';
import { compileRedact } from '../../src/filter/redact.js';
import type { SourceRecord } from '../../src/record.js';

const rec = (tag: string, record: Record<string, unknown>, time = 1000): SourceRecord => ({ tag, time, record });

test('filters apply in order, each on the tags its pattern matches; counts in, out, dropped', () => {
  const specs: FilterSpec[] = [
    { type: 'grep', pattern: 'events.log', grep: { exclude: [{ key: 'event', pattern: '^db\\.session\\.query$' }] } },
    { type: 'record_transformer', pattern: '**', transform: { record: { env: 'prod', seen: '${record["env"]}' } } },
    // sees the env the filter before it set
    { type: 'grep', pattern: '**', grep: { regexp: [{ key: 'env', pattern: '^prod$' }] } },
    { type: 'redact', pattern: 'session.*.log', redact: { keys: ['$.addr.remote'], mode: 'replace' } },
  ];
  const chain = createFilterChain(specs, { hostname: 'h' });
  const input = [
    rec('events.log', { event: 'user.login', user: 'alice' }),
    rec('events.log', { event: 'db.session.query', user: 'bob' }),
    rec('session.abc.log', { event: 'print', addr: { remote: '1.2.3.4' } }),
    rec('other', { env: 'dev' }),
  ];
  const copy = structuredClone(input);
  const out = chain.apply(input);
  assert.deepEqual(out, [
    rec('events.log', { event: 'user.login', user: 'alice', env: 'prod', seen: null }),
    rec('session.abc.log', { event: 'print', addr: { remote: '[REDACTED]' }, env: 'prod', seen: null }),
    rec('other', { env: 'prod', seen: 'dev' }),
  ]);
  assert.deepEqual(input, copy, 'the source records are not written');
  assert.deepEqual(
    chain.stats().map((s) => [s.index, s.type, s.in, s.out, s.dropped, s.errors]),
    [
      [1, 'grep', 2, 1, 1, 0],
      [2, 'record_transformer', 3, 3, 0, 0],
      [3, 'grep', 3, 3, 0, 0],
      [4, 'redact', 1, 1, 0, 0],
    ],
  );
});

test('a record a filter cannot process is dropped, counted as an error and warned about at a bounded rate', () => {
  const warnings: object[] = [];
  let t = 0;
  const chain = createFilterChain(
    [
      {
        type: 'record_transformer',
        pattern: '**',
        transform: { enableRuby: true, record: { x: '${record["a"]["b"]}' } },
      },
    ],
    { hostname: 'h', logger: { warn: (o) => warnings.push(o) }, now: () => t },
  );
  const out = chain.apply([rec('t', { a: { b: 1 } }), rec('t', {}), rec('t', {})]);
  assert.deepEqual(
    out.map((r) => r.record),
    [{ a: { b: 1 }, x: 1 }],
  );
  assert.deepEqual(chain.stats()[0], {
    index: 1,
    type: 'record_transformer',
    pattern: '**',
    in: 3,
    out: 1,
    dropped: 2,
    errors: 2,
  });
  assert.equal(warnings.length, 1);
  t = 20_000;
  chain.apply([rec('t', {})]);
  assert.equal(warnings.length, 2);
  assert.equal((warnings[1] as { records: number }).records, 2);
});

test('no filters: the same array comes back', () => {
  const chain = createFilterChain([], { hostname: 'h' });
  const input = [rec('a', {})];
  assert.equal(chain.apply(input), input);
});

test('redact: replace, or an HMAC-SHA-256 token that is the same for the same value and key', () => {
  const key = 'k'.repeat(32);
  const h = compileRedact({ keys: ['user', '$.login.name', 'absent'], mode: 'hmac', hmacKey: key });
  const a = h.apply({ user: 'alice', login: { name: 'alice' } });
  const b = h.apply({ user: 'alice' });
  const want = 'hmac:' + createHmac('sha256', key).update('alice').digest('hex').slice(0, 32);
  assert.deepEqual(a, { user: want, login: { name: want } });
  assert.equal(b.user, want);
  assert.ok(!('absent' in a));
  const other = compileRedact({ keys: ['user'], mode: 'hmac', hmacKey: 'z'.repeat(32) }).apply({ user: 'alice' });
  assert.notEqual(other.user, want, 'another key gives other tokens');
  const r = compileRedact({ keys: ['user'], mode: 'replace', replacement: '***' });
  assert.deepEqual(r.apply({ user: 'bob', n: 1 }), { user: '***', n: 1 });
  assert.deepEqual(compileRedact({ keys: ['user'], mode: 'replace' }).apply({ user: 'bob' }), { user: '[REDACTED]' });
});
