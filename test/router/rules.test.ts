import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import { compileRule, type MatchRule } from '../../src/router/rules.js';

const DD: MatchRule = { pattern: '**', type: 'datadog' };

interface RuleCase {
  name: string;
  rule: MatchRule;
  enrich: Array<[string, string]>;
  timestampKey: string;
  tagKey: string | null;
  distinctKeys: boolean;
  restampText: boolean;
}

const cases: RuleCase[] = [
  {
    name: 'only the default hostname',
    rule: DD,
    enrich: [['hostname', 'fwd-1']],
    timestampKey: '@timestamp',
    tagKey: null,
    distinctKeys: true,
    restampText: true,
  },
  {
    name: 'every attribute, in output order',
    rule: { ...DD, source: 'teleport', sourceCategory: 'sec', tags: ['env:prod', 'team:a'], service: 'audit' },
    enrich: [
      ['ddsource', 'teleport'],
      ['ddsourcecategory', 'sec'],
      ['ddtags', 'env:prod,team:a'],
      ['service', 'audit'],
      ['hostname', 'fwd-1'],
    ],
    timestampKey: '@timestamp',
    tagKey: null,
    distinctKeys: true,
    restampText: true,
  },
  {
    name: 'empty values and an empty tag list add nothing; the rule hostname wins',
    rule: { ...DD, source: '', service: '', tags: [], hostname: 'h2' },
    enrich: [['hostname', 'h2']],
    timestampKey: '@timestamp',
    tagKey: null,
    distinctKeys: true,
    restampText: true,
  },
  {
    name: 'include_tag_key with the default key; no timestamp key',
    rule: { ...DD, includeTagKey: true, timestampKey: '' },
    enrich: [['hostname', 'fwd-1']],
    timestampKey: '',
    tagKey: 'tag',
    distinctKeys: true,
    restampText: true,
  },
  {
    name: 'a tag key without include_tag_key is not added',
    rule: { ...DD, tagKey: 'fluent_tag' },
    enrich: [['hostname', 'fwd-1']],
    timestampKey: '@timestamp',
    tagKey: null,
    distinctKeys: true,
    restampText: true,
  },
  {
    name: 'a tag key equal to an added key: the text path cannot be used',
    rule: { ...DD, includeTagKey: true, tagKey: 'service', service: 'audit' },
    enrich: [
      ['service', 'audit'],
      ['hostname', 'fwd-1'],
    ],
    timestampKey: '@timestamp',
    tagKey: 'service',
    distinctKeys: false,
    restampText: false,
  },
  {
    name: 'a timestamp key of original_timestamp: a restamp cannot be appended as text',
    rule: { ...DD, timestampKey: 'original_timestamp' },
    enrich: [['hostname', 'fwd-1']],
    timestampKey: 'original_timestamp',
    tagKey: null,
    distinctKeys: true,
    restampText: false,
  },
  {
    name: 'status as the timestamp key collides with the status the router adds',
    rule: { ...DD, timestampKey: 'status' },
    enrich: [['hostname', 'fwd-1']],
    timestampKey: 'status',
    tagKey: null,
    distinctKeys: false,
    restampText: false,
  },
];

for (const c of cases) {
  test(`compileRule: ${c.name}`, () => {
    const r = compileRule(c.rule, 0, 'fwd-1');
    assert.deepEqual(r.enrich, c.enrich);
    assert.deepEqual(
      r.enrichJson,
      c.enrich.map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`),
    );
    assert.equal(r.timestampKey, c.timestampKey);
    assert.equal(r.timestampPrefix, `,${JSON.stringify(c.timestampKey)}:"`);
    assert.equal(r.tagKey, c.tagKey);
    assert.equal(r.tagPrefix, c.tagKey === null ? '' : `,${JSON.stringify(c.tagKey)}:`);
    assert.equal(r.distinctKeys, c.distinctKeys);
    assert.equal(r.restampText, c.restampText);
    assert.equal(r.drop, false);
    assert.equal(r.resolve, undefined, 'no placeholders: one rule for every record');
    assert.ok(Object.isFrozen(r));
    // the added keys and the identity of a teleport event are what truncation drops last
    for (const [k] of c.enrich) assert.ok(r.keep.has(k), k);
    for (const k of ['status', 'event', 'code', 'uid', 'time']) assert.ok(r.keep.has(k), k);
  });
}

test('compileRule: the pattern decides the match, a null rule drops', () => {
  const table: Array<[string, string, boolean]> = [
    ['events.log', 'events.log', true],
    ['events.log', 'session.1.log', false],
    ['session.*.log', 'session.abc.log', true],
    ['a b', 'b', true],
    ['**', 'anything.at.all', true],
  ];
  for (const [pattern, tag, want] of table) {
    assert.equal(compileRule({ pattern, type: 'datadog' }, 0, 'h').match(tag), want, `${pattern} ~ ${tag}`);
  }
  assert.equal(compileRule({ pattern: '**', type: 'null' }, 0, 'h').drop, true);
});

test('compileRule: a bad pattern is a ConfigError naming the rule and its pattern', () => {
  assert.throws(
    () => compileRule({ pattern: 'a.{b', type: 'datadog' }, 2, 'h'),
    (err: unknown) => err instanceof ConfigError && /^router rule 3 \(pattern "a\.\{b"\): /.test(err.message),
  );
});

test('compileRule: placeholders in service, tags and hostname resolve per record', () => {
  const rule = compileRule(
    {
      ...DD,
      source: 'teleport',
      service: '${record["svc"]}',
      tags: ['user:${record["user"]}', 'part:${tag_parts[1]}', '${record["missing"]}'],
      hostname: '${record["host"]}',
    },
    0,
    'fwd-1',
  );
  assert.equal(typeof rule.resolve, 'function');
  const table: Array<[Record<string, unknown>, Array<[string, string]>]> = [
    [
      { svc: 'audit', user: 'a,b', host: 'n1' },
      [
        ['ddsource', 'teleport'],
        ['ddtags', 'user:a_b,part:log'],
        ['service', 'audit'],
        ['hostname', 'n1'],
      ],
    ],
    // values that do not resolve leave out the service and hostname, and the empty tag
    [
      { user: 'u' },
      [
        ['ddsource', 'teleport'],
        ['ddtags', 'user:u,part:log'],
      ],
    ],
  ];
  for (const [record, enrich] of table) {
    const r = rule.resolve!({ tag: 'events.log', time: 0, record });
    assert.deepEqual(r.enrich, enrich, JSON.stringify(record));
    assert.deepEqual(
      r.enrichJson,
      enrich.map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`),
    );
  }
});
