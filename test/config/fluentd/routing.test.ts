// what the http source routes to: its @label, through migrateFluentd
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_KEY, conf, hasNote, migrateAndLoad } from '../../helpers/migrate.js';

test('labels: the http source routes to its @label; other matches are noted', () => {
  const text = conf(
    '<source>',
    '  @type http',
    '  @label @TELEPORT',
    '  <transport tls>',
    '    client_cert_auth true',
    '    ca_path /k/ca.crt',
    '    cert_path /k/s.crt',
    '    private_key_path /k/s.key',
    '  </transport>',
    '</source>',
    '<match **>',
    '  @type stdout',
    '</match>',
    '<label @TELEPORT>',
    '  <filter **>',
    '    @type grep',
    '  </filter>',
    '  <match test.log>',
    '    @type datadog',
    `    api_key ${API_KEY}`,
    '  </match>',
    '</label>',
    '<label @OTHER>',
    '  <match x>',
    '    @type null',
    '  </match>',
    '</label>',
  );
  const { r, c } = migrateAndLoad({ fluentConf: text });
  assert.deepEqual(c.routing.rules, [{ pattern: 'test.log', type: 'datadog' }]);
  hasNote(r.notes, 'info', 'fluent.conf:11', /the http source sends its events to <label @TELEPORT>/);
  // the filter in the label the source routes to is carried over (a grep without conditions keeps everything)
  assert.deepEqual(c.filters, [{ type: 'grep', pattern: '**', grep: {} }]);
  hasNote(r.notes, 'info', 'fluent.conf:23', /<label @OTHER> is not carried over/);
});

test('the label the source names is followed wherever it is; a dropped <match> before a rule is warned about', () => {
  const text = conf(
    '<source>',
    '  @type http',
    '  @label @B',
    '  <transport tls>',
    '    client_cert_auth true',
    '    ca_path /k/ca.crt',
    '    cert_path /k/s.crt',
    '    private_key_path /k/s.key',
    '  </transport>',
    '</source>',
    '<label @A>',
    '  <match a>',
    '    @type null',
    '  </match>',
    '</label>',
    '<label @B>',
    '  <match b.**>',
    '    @type kafka2',
    '  </match>',
    '  <match b.x>',
    '    @type datadog',
    `    api_key ${API_KEY}`,
    '  </match>',
    '</label>',
  );
  const { r, c } = migrateAndLoad({ fluentConf: text });
  assert.deepEqual(
    c.routing.rules.map((x) => [x.pattern, x.type]),
    [['b.x', 'datadog']],
  );
  hasNote(r.notes, 'info', 'fluent.conf:11', /<label @A> is not carried over: the http source does not route to it/);
  // in fluentd the first <match> wins: kafka2 took b.x's events, which the forwarder now ships
  hasNote(
    r.notes,
    'warn',
    'fluent.conf:20',
    /in fluentd, <match b\.\*\*> \(fluent\.conf:17, @type kafka2\) came first and took some of these events/,
  );
});
