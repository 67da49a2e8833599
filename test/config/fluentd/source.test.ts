// <source>: the http source as [ingest], through migrateFluentd
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseToml } from 'smol-toml';
import { migrateFluentd } from '../../../src/config/fluentd/migrate.js';
import { API_KEY, conf, hasNote } from '../../helpers/migrate.js';

test('in_http without tls: the ingest is written disabled and nothing usable is left', () => {
  const text = conf(
    '<source>',
    '  @type http',
    '</source>',
    '<match **>',
    '  @type datadog',
    `  api_key ${API_KEY}`,
    '</match>',
  );
  const r = migrateFluentd({ fluentConf: text, fluentConfPath: '/etc/fluent/fluent.conf' });
  assert.equal(r.usable, false);
  hasNote(r.notes, 'warn', 'fluent.conf:1', /no <transport tls>: .*always uses mutual TLS/);
  hasNote(r.notes, 'info', 'fluent.conf:1', /no "port": fluentd's in_http default 9880/);
  hasNote(r.notes, 'warn', 'fluent.conf:1', /nothing to forward/);
  const doc = parseToml(r.toml) as { ingest: Record<string, unknown> };
  assert.deepEqual({ ...doc.ingest }, { enabled: false, port: 9880 });

  // a tls section missing the key: disabled too, and the note names the missing param
  const partial = migrateFluentd({
    fluentConf: conf(
      '<source>',
      '  @type http',
      '  <transport tls>',
      '    client_cert_auth true',
      '    ca_path ca.crt',
      '    cert_path server.crt',
      '  </transport>',
      '</source>',
    ),
    fluentConfPath: '/etc/fluent/fluent.conf',
  });
  assert.equal(partial.usable, false);
  hasNote(partial.notes, 'warn', 'fluent.conf:3', /lacks private_key_path: the ingest is written disabled/);
  assert.equal((parseToml(partial.toml) as { ingest: { ca: string } }).ingest.ca, '/etc/fluent/ca.crt');
});
