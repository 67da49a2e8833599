import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flatten } from '../../src/config/flatten.js';

const when = new Date('2026-01-02T03:04:05Z');

test('flatten: dotted leaf keys; arrays, tables in arrays, dates and nulls are leaves', () => {
  const cases: Array<{ name: string; doc: Record<string, unknown>; want: Array<[string, unknown]> }> = [
    { name: 'empty', doc: {}, want: [] },
    {
      name: 'top-level keys',
      doc: { storage: './s', 'start-time': when },
      want: [
        ['storage', './s'],
        ['start-time', when],
      ],
    },
    {
      name: 'nested tables, in document order',
      doc: { ingest: { port: 8888, tls: { ca: '/ca' } }, datadog: { site: 'datadoghq.eu' } },
      want: [
        ['ingest.port', 8888],
        ['ingest.tls.ca', '/ca'],
        ['datadog.site', 'datadoghq.eu'],
      ],
    },
    {
      name: 'dotted names stay as written',
      doc: { forward: { fluentd: { url: 'https://h/test.log' } } },
      want: [['forward.fluentd.url', 'https://h/test.log']],
    },
    {
      name: 'arrays of tables are kept whole',
      doc: { match: [{ pattern: '**' }], filter: [] },
      want: [
        ['match', [{ pattern: '**' }]],
        ['filter', []],
      ],
    },
    { name: 'an array of strings is a leaf', doc: { d: { tags: ['a', 'b'] } }, want: [['d.tags', ['a', 'b']]] },
    { name: 'an empty table gives nothing', doc: { lock: {} }, want: [] },
    { name: 'null is a leaf', doc: { a: { b: null } }, want: [['a.b', null]] },
    { name: 'a prefix is put before every key', doc: { a: 1 }, want: [['p.a', 1]] },
  ];
  for (const c of cases) {
    const got = c.name.startsWith('a prefix') ? flatten(c.doc, 'p.') : flatten(c.doc);
    assert.deepEqual(got, c.want, c.name);
  }
});
