// fluent-plugin-datadog outputs: the rule fields and the one destination, through migrateFluentd
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_KEY, hasNote, migrateAndLoad, withSource } from '../../helpers/migrate.js';

test('datadog host and site: known intakes give a site, others an explicit url', () => {
  const cases: Array<[string[], { site?: string; url?: string; note?: RegExp }]> = [
    [['host http-intake.logs.us3.datadoghq.com'], { site: 'us3.datadoghq.com' }],
    [['host intake.logs.datadoghq.eu'], { site: 'datadoghq.eu', note: /TCP intake/ }],
    [['site ap1.datadoghq.com'], { site: 'ap1.datadoghq.com' }],
    [['site DDOG-GOV.com'], { site: 'ddog-gov.com' }],
    [['site example.invalid'], { url: 'https://http-intake.logs.example.invalid', note: /not a Datadog site/ }],
    [
      ['host logs-proxy.internal', 'ssl_port 8443'],
      { url: 'https://logs-proxy.internal:8443', note: /not a Datadog intake: written as datadog\.url/ },
    ],
    [['host logs-proxy.internal', 'ssl_port 443'], { url: 'https://logs-proxy.internal' }],
    [['host 127.0.0.1', 'use_ssl false', 'port 8080'], { url: 'http://127.0.0.1:8080' }],
    [
      ['site us5.datadoghq.com', 'host http-intake.logs.datadoghq.eu'],
      { site: 'datadoghq.eu', note: /"host" is set and wins/ },
    ],
    [['use_ssl false'], { site: 'datadoghq.com', note: /always uses HTTPS/ }],
    [[], { site: 'datadoghq.com' }],
  ];
  for (const [params, want] of cases) {
    const text = withSource(
      '<match test.log>',
      '  @type datadog',
      `  api_key ${API_KEY}`,
      ...params.map((p) => '  ' + p),
      '</match>',
    );
    const { r, c } = migrateAndLoad({ fluentConf: text });
    assert.equal(c.datadog.url, want.url, params.join(', '));
    if (want.site) assert.equal(c.datadog.site, want.site, params.join(', '));
    if (want.url) assert.ok(!/^site = /m.test(r.toml), 'a url is written instead of a site');
    if (want.note)
      assert.ok(
        r.notes.some((x) => want.note!.test(x.message)),
        `${params.join(', ')}: no note ${want.note}`,
      );
  }
});

test('compression, tags and the per-rule fields', () => {
  const text = withSource(
    '<match a.**>',
    '  @type datadog',
    `  api_key "${API_KEY}"`,
    '  use_compression false',
    '  compression_level 0',
    '  dd_tags " env:prod , team:sec ,, "',
    '  dd_hostname bastion-1',
    '  include_tag_key yes',
    '  timestamp_key ""',
    '  dd_source "quote \\" and back\\\\slash é"',
    '</match>',
  );
  const { r, c } = migrateAndLoad({ fluentConf: text });
  assert.equal(c.datadog.compression, 'none');
  assert.equal(c.datadog.compressionLevel, 1);
  assert.deepEqual(c.routing.rules, [
    {
      pattern: 'a.**',
      type: 'datadog',
      tags: ['env:prod', 'team:sec'],
      hostname: 'bastion-1',
      includeTagKey: true,
      timestampKey: '',
      source: 'quote " and back\\slash é',
    },
  ]);
  hasNote(r.notes, 'info', 'fluent.conf:15', /"compression_level 0" is written as 1/);
});

test('several Datadog outputs: one destination, the first; differences are noted, equal ones are not', () => {
  const text = withSource(
    '<match a>',
    '  @type datadog',
    `  api_key ${API_KEY}`,
    '  dd_source first',
    '</match>',
    '<match b>',
    '  @type datadog',
    `  api_key ${API_KEY}`,
    '  dd_source same-destination',
    '</match>',
    '<match c>',
    '  @type datadog',
    '  api_key another-key-0000000000000000000',
    '  site datadoghq.eu',
    '</match>',
  );
  const { r, c } = migrateAndLoad({ fluentConf: text });
  assert.equal(c.datadog.site, 'datadoghq.com');
  assert.equal(c.datadog.apiKey, API_KEY);
  assert.deepEqual(
    c.routing.rules.map((x) => [x.pattern, x.source]),
    [
      ['a', 'first'],
      ['b', 'same-destination'],
      ['c', undefined],
    ],
  );
  assert.ok(!r.notes.some((x) => x.where === 'fluent.conf:16'), 'no note for an equal destination');
  hasNote(
    r.notes,
    'warn',
    'fluent.conf:21',
    /its site, api_key differ from the first Datadog output \(fluent\.conf:11\): one Datadog destination/,
  );
  assert.ok(!r.notes.some((x) => x.message.includes('another-key')));
});
