// one <match>: copy stores, add_tag_prefix, patterns and outputs that are dropped, through migrateFluentd
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_KEY, conf, hasNote, migrateAndLoad, withSource } from '../../helpers/migrate.js';

test('@type copy: the first datadog store is the rule; a different second one and other stores are noted', () => {
  const text = withSource(
    '<match a.**>',
    '  @type copy',
    '  <store>',
    '    @type datadog',
    `    api_key ${API_KEY}`,
    '    service one',
    '  </store>',
    '  <store>',
    '    @type datadog',
    `    api_key ${API_KEY}`,
    '    service two',
    '  </store>',
    '  <store>',
    '    @type file',
    '    path /var/log/td',
    '  </store>',
    '</match>',
    '<match b.**>',
    '  @type copy',
    '  <store>',
    '    @type null',
    '  </store>',
    '</match>',
  );
  const { r, c } = migrateAndLoad({ fluentConf: text });
  assert.deepEqual(c.routing.rules, [
    { pattern: 'a.**', type: 'datadog', service: 'one' },
    { pattern: 'b.**', type: 'null' },
  ]);
  hasNote(r.notes, 'warn', 'fluent.conf:18', /a second datadog <store> is not carried over \(its service differ/);
  hasNote(r.notes, 'warn', 'fluent.conf:23', /<store> @type file is not carried over/);
});

test('add_tag_prefix is stripped from patterns; invalid patterns and unknown outputs are dropped with a warning', () => {
  const text = conf(
    '<source>',
    '  @type http',
    '  add_tag_prefix tp',
    '  <transport tls>',
    '    client_cert_auth true',
    '    ca_path /k/ca.crt',
    '    cert_path /k/s.crt',
    '    private_key_path /k/s.key',
    '  </transport>',
    '</source>',
    '<match tp.test.log tp.session.*.log other>',
    '  @type datadog',
    `  api_key ${API_KEY}`,
    '</match>',
    '<match {unclosed>',
    '  @type null',
    '</match>',
    '<match later>',
    '  @type kafka2',
    '</match>',
    '<match>',
    '  @type null',
    '</match>',
  );
  const { r, c } = migrateAndLoad({ fluentConf: text });
  assert.deepEqual(
    c.routing.rules.map((x) => [x.pattern, x.type]),
    [
      ['test.log session.*.log other', 'datadog'],
      ['**', 'null'],
    ],
  );
  hasNote(r.notes, 'warn', 'fluent.conf:3', /"add_tag_prefix tp" is not supported/);
  hasNote(r.notes, 'warn', 'fluent.conf:15', /<match \{unclosed> is not carried over/);
  hasNote(r.notes, 'warn', 'fluent.conf:18', /@type kafka2 is not carried over: the forwarder ships to Datadog only/);
});
