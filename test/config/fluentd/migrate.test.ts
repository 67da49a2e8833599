// migrateFluentd end to end: whole setups (the guide's, configure's, everything.conf), secrets, files on this host
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { loadConfig } from '../../../src/config/load.js';
import { migrateFluentd, API_KEY_FILE, PASSPHRASE_FILE } from '../../../src/config/fluentd/migrate.js';
import { readFluentConf } from '../../../src/config/fluentd/file.js';
import { fileIncludeReader } from '../../../src/cli/migrate.js';
import { FluentConfigError } from '../../../src/errors.js';
import { fixture } from '../../helpers/paths.js';
import { API_KEY, TLS_SOURCE, caseDir, conf, hasNote, migrateAndLoad } from '../../helpers/migrate.js';

test('the Teleport Datadog guide setup: ingest with mTLS, one Datadog rule, secrets in 0600 files, not in the TOML', () => {
  const path = fixture('fluentd', 'teleport-datadog.conf');
  const { r, c, dir } = migrateAndLoad({ fluentConf: readFileSync(path, 'utf8'), fluentConfPath: path });
  assert.equal(r.usable, true);
  assert.equal(c.ingest.enabled, true);
  assert.equal(c.ingest.port, 8888);
  assert.equal(c.ingest.host, '0.0.0.0');
  assert.deepEqual(
    [c.ingest.ca, c.ingest.cert, c.ingest.key],
    ['/keys/ca.crt', '/keys/server.crt', '/keys/server.key'],
  );
  assert.equal(c.ingest.keyPassphrase, 'c2f0b5e1a7d94e3b8a61f0d2c4e9b7a3');
  assert.equal(c.datadog.site, 'datadoghq.com');
  assert.equal(c.datadog.url, undefined);
  assert.equal(c.datadog.apiKey, API_KEY);
  assert.equal(c.datadog.apiKeyOrigin, join(dir, API_KEY_FILE));
  assert.equal(c.datadog.compression, 'gzip');
  assert.deepEqual(c.routing.rules, [{ pattern: 'test.log', type: 'datadog', source: 'teleport' }]);
  assert.equal(c.storage, join(dir, 'storage'));
  assert.equal(c.teleport.enabled, false);
  assert.equal(r.apiKey, API_KEY);
  assert.equal(r.keyPassphrase, 'c2f0b5e1a7d94e3b8a61f0d2c4e9b7a3');
  assert.deepEqual(r.secretFiles.map((s) => s.name).sort(), [API_KEY_FILE, PASSPHRASE_FILE]);
  assert.ok(!r.toml.includes(API_KEY), 'the api key is not in the toml');
  assert.ok(!r.toml.includes('c2f0b5e1a7d94e3b8a61f0d2c4e9b7a3'), 'the passphrase is not in the toml');
  assert.match(r.toml, /^# teleport-datadog-forwarder configuration, migrated/);
  assert.ok(r.toml.includes(`#   ${path}`), 'the header names the source file');
  assert.match(r.toml, /# the Fluentd-compatible HTTPS endpoint .*\(teleport-datadog\.conf:3\)\n\[ingest\]/);
  assert.match(r.toml, /# <match test\.log> @type datadog \(teleport-datadog\.conf:27\)\n\[\[match\]\]/);
  hasNote(
    r.notes,
    'warn',
    'teleport-datadog.conf:38',
    /<match session\.\*\.log> @type stdout is not carried over: .*--dry-run/,
  );
  hasNote(r.notes, 'info', 'teleport-datadog.conf:29', /"@id" is not carried over/);
  hasNote(r.notes, 'info', 'teleport-datadog.conf:19', /"json_parser" is not needed/);
  hasNote(r.notes, 'info', 'teleport-datadog.conf:23', /"time_format" is not needed/);
  for (const note of r.notes)
    assert.ok(!note.message.includes(API_KEY) && !note.message.includes('c2f0b5e1'), 'no secret in notes');
});

test('exactly what `teleport-event-handler configure` writes: stdout only, so a catch-all Datadog rule is written', () => {
  const path = fixture('fluentd', 'configure.conf');
  const { r, c, file } = migrateAndLoad(
    { fluentConf: readFileSync(path, 'utf8'), fluentConfPath: path },
    { DD_API_KEY: 'k' },
  );
  assert.equal(r.usable, true);
  assert.deepEqual(c.routing.rules, [{ pattern: '**', type: 'datadog', source: 'teleport', service: 'teleport' }]);
  assert.equal(c.ingest.keyPassphrase, 'c2f0b5e1a7d94e3b8a61f0d2c4e9b7a3');
  assert.equal(r.apiKey, undefined);
  hasNote(r.notes, 'warn', 'configure.conf:25', /<match test\.log> @type stdout is not carried over/);
  hasNote(r.notes, 'warn', 'configure.conf:29', /<match session\.\*\.log> @type stdout is not carried over/);
  hasNote(r.notes, 'warn', 'configure.conf:1', /no <match> sends to Datadog: a catch-all rule/);
  hasNote(r.notes, 'warn', 'configure.conf:1', /no Datadog api_key .* DD_API_KEY/);
  // without DD_API_KEY the loader says what is missing
  assert.throws(() => loadConfig({ file, env: {} }), /no Datadog API key/);
});

test('every directive of everything.conf, with teleport-event-handler.toml: config, rule order, notes', () => {
  const path = fixture('fluentd', 'everything.conf');
  const handlerPath = fixture('fluentd', 'teleport-event-handler.toml');
  const { r, c, dir } = migrateAndLoad(
    {
      fluentConf: readFileSync(path, 'utf8'),
      fluentConfPath: path,
      handlerToml: readFileSync(handlerPath, 'utf8'),
      handlerTomlPath: handlerPath,
      env: { FLUENTD_PORT: '9443', DEPLOY_ENV: 'prod', DD_API_KEY: 'from-env' },
      readInclude: fileIncludeReader(),
    },
    { DD_API_KEY: 'from-env' },
  );
  const fx = (p: string) => fixture('fluentd', p);

  // ingest: relative tls paths resolved against fluent.conf's directory
  assert.equal(c.ingest.enabled, true);
  assert.equal(c.ingest.host, '127.0.0.1');
  assert.equal(c.ingest.port, 9443);
  assert.equal(c.ingest.bodyLimit, 16 * 1024 * 1024);
  assert.deepEqual(
    [c.ingest.ca, c.ingest.cert, c.ingest.key],
    [fx('certs/ca.crt'), fx('certs/server.crt'), fx('certs/server.key')],
  );
  assert.equal(c.ingest.keyPassphrase, "it's-a-secret");

  // datadog: the first output (the copy's datadog store) wins; the key stays in the environment
  assert.equal(c.datadog.site, 'datadoghq.eu');
  assert.equal(c.datadog.compression, 'gzip');
  assert.equal(c.datadog.compressionLevel, 9);
  assert.equal(c.datadog.apiKey, 'from-env');
  assert.equal(r.apiKeyEnv, 'DD_API_KEY');
  assert.equal(r.apiKey, 'from-env');
  assert.deepEqual(
    r.secretFiles.map((s) => s.name),
    [PASSPHRASE_FILE],
    'an api key from the environment is not written to a file',
  );
  assert.ok(!r.toml.includes('api-key'), 'the toml names no api key file');

  // rules in fluent.conf order; stdout and forward are gone
  assert.deepEqual(c.routing.rules, [
    { pattern: 'session.*.log', type: 'null' },
    {
      pattern: 'test.log events.log',
      type: 'datadog',
      source: 'teleport',
      sourceCategory: 'security',
      service: 'teleport-audit',
      tags: ['env:prod', 'team:security'],
      includeTagKey: true,
      tagKey: 'fluentd_tag',
      timestampKey: '@timestamp',
    },
    { pattern: 'debug.audit', type: 'datadog', source: 'teleport-debug' },
  ]);
  // the included <filter>, its #{Socket.gethostname} read as ${hostname}
  assert.deepEqual(c.filters, [
    { type: 'record_transformer', pattern: 'test.log', transform: { record: { forwarder: '${hostname}' } } },
  ]);

  // the handler's keys, paths resolved against its directory; its storage is not reused
  assert.equal(c.storage, join(dir, 'storage'));
  assert.equal(c.teleport.enabled, true);
  assert.equal(c.teleport.addr, 'teleport.example.com:443');
  assert.equal(c.teleport.identity, fx('identity'));
  assert.equal(c.teleport.refreshEnabled, true);
  assert.equal(c.teleport.refreshIntervalMs, 120_000);
  assert.equal(c.teleport.timeoutMs, 10_000);
  assert.equal(c.teleport.batch, 20);
  assert.equal(c.teleport.windowSizeMs, 86_400_000);
  assert.equal(c.teleport.concurrency, 5);
  assert.deepEqual(c.teleport.types, []);
  assert.deepEqual(c.teleport.skipEventTypes, ['app.session.chunk']);
  assert.deepEqual(c.teleport.skipSessionTypes, ['print', 'desktop.recording']);
  assert.equal(c.teleport.startTime?.toISOString(), '2024-05-01T00:00:00.000Z');
  assert.equal(c.teleport.eventsTag, 'test.log');
  assert.equal(c.teleport.sessionTagPrefix, 'session');
  assert.deepEqual(
    [c.teleport.lockEnabled, c.teleport.lockFailedAttemptsCount, c.teleport.lockPeriodMs, c.teleport.lockForMs],
    [true, 5, 120_000, 3_600_000],
  );

  const notes = r.notes;
  const w = (line: number, re: RegExp) => hasNote(notes, 'warn', `everything.conf:${line}`, re);
  const i = (line: number, re: RegExp) => hasNote(notes, 'info', `everything.conf:${line}`, re);
  i(2, /<system>/);
  i(8, /"@id"/);
  i(10, /ENV\['FLUENTD_PORT'\] was read now/);
  i(12, /"keepalive_timeout"/);
  w(13, /"add_http_headers" is not supported/);
  w(14, /"add_remote_addr" is not supported/);
  i(15, /"use_204_response"/);
  w(18, /"client_cert_auth" is not true .* always requires client certificates/);
  i(23, /"min_version"/);
  i(28, /"time_key time" is the default/);
  i(29, /"time_format" is not needed/);
  i(30, /"keep_time_key"/);
  w(34, /<source> @type forward is not carried over/);
  w(46, /<match debug\.\*\*> @type stdout is not carried over/);
  i(57, /"@id"/);
  i(58, /DD_API_KEY, which the forwarder reads too/);
  i(62, /ENV\['DEPLOY_ENV'\] was read now/);
  i(64, /Socket\.gethostname.* the default/);
  i(70, /"max_retries" is not carried over: the forwarder retries/);
  i(71, /"max_backoff"/);
  w(72, /"no_ssl_validation true" is not carried over: TLS verification stays on/);
  w(73, /"http_proxy" is not supported/);
  w(74, /"custom_headers" is not supported/);
  i(76, /<buffer> \(path, flush_interval, total_limit_size\) is not carried over: .*spool/);
  w(83, /<store> @type stdout is not carried over/);
  w(86, /<store> @type s3 is not carried over/);
  w(93, /<match debug\.\*\*> \(everything\.conf:46, stdout\) came first/);
  w(93, /its site, api_key, compression_level differ from the first Datadog output \(everything\.conf:55\)/);
  w(100, /<match archive\.\*\*> @type forward is not carried over/);
  i(108, /<label @FLUENT_LOG>/);
  i(1, /relative paths were resolved against the directory of the file/);
  hasNote(
    notes,
    'info',
    'conf.d/filters.conf:5',
    /#\{Socket\.gethostname\} in "forwarder" is carried over as \$\{hostname\}/,
  );
  hasNote(notes, 'info', 'teleport-event-handler.toml:2', /"storage" is not carried over/);
  hasNote(
    notes,
    'warn',
    'teleport-event-handler.toml:1',
    /the built-in Teleport poller replaces teleport-event-handler/,
  );
  // the proxy's credentials, the passphrase and the second api key are never echoed
  for (const note of notes) assert.doesNotMatch(note.message, /user:pass|it's-a-secret|fedcba98/);
  assert.doesNotMatch(r.toml, /user:pass|it's-a-secret|fedcba98/);
  // notes are sorted: fluent.conf by line, then included files, then the handler's toml
  const order = notes.map((x) => x.where);
  assert.equal(order[0], 'everything.conf:1');
  assert.ok(order.indexOf('conf.d/filters.conf:5') > order.indexOf('everything.conf:108'));
  assert.ok(order.indexOf('teleport-event-handler.toml:1') > order.indexOf('conf.d/filters.conf:5'));
});

test('secrets from the environment stay there; unevaluated ruby is not guessed', () => {
  const text = conf(
    '<source>',
    '  @type http',
    '  <transport tls>',
    '    client_cert_auth true',
    '    ca_path /k/ca.crt',
    '    cert_path /k/s.crt',
    '    private_key_path /k/s.key',
    '    private_key_passphrase "#{ENV[\'TLS_PASS\']}"',
    '  </transport>',
    '</source>',
    '<match a>',
    '  @type datadog',
    '  api_key "#{ENV[\'MY_DD_KEY\']}"',
    '  service "#{File.read(\'/etc/service\')}"',
    '</match>',
  );
  const env = { MY_DD_KEY: 'key-from-env', TLS_PASS: 'pass-from-env' };
  const r = migrateFluentd({ fluentConf: text, fluentConfPath: '/etc/fluent/fluent.conf', env });
  assert.equal(r.apiKey, 'key-from-env');
  assert.equal(r.apiKeyEnv, 'MY_DD_KEY');
  assert.equal(r.keyPassphrase, 'pass-from-env');
  assert.equal(r.keyPassphraseEnv, 'TLS_PASS');
  assert.deepEqual(r.secretFiles, []);
  assert.ok(!r.toml.includes('key-from-env') && !r.toml.includes('pass-from-env'));
  hasNote(r.notes, 'warn', 'fluent.conf:13', /environment variable MY_DD_KEY: the forwarder reads DD_API_KEY/);
  hasNote(r.notes, 'warn', 'fluent.conf:8', /TDF_INGEST_KEY_PASSPHRASE/);
  hasNote(
    r.notes,
    'warn',
    'fluent.conf:14',
    /"service" uses embedded ruby #\{File\.read\('\/etc\/service'\)\} that is not evaluated/,
  );
  const dir = caseDir('env-');
  writeFileSync(join(dir, 'f.toml'), r.toml);
  const c = loadConfig({
    file: join(dir, 'f.toml'),
    env: { DD_API_KEY: 'key-from-env', TDF_INGEST_KEY_PASSPHRASE: 'pass-from-env' },
  });
  assert.deepEqual(c.routing.rules, [{ pattern: 'a', type: 'datadog' }]);
  assert.equal(c.ingest.keyPassphrase, 'pass-from-env');
});

test('in memory (secretFiles false): the toml names no secret file, the secrets come back', () => {
  const path = fixture('fluentd', 'teleport-datadog.conf');
  const r = migrateFluentd({ fluentConf: readFileSync(path, 'utf8'), fluentConfPath: path, secretFiles: false });
  assert.deepEqual(r.secretFiles, []);
  assert.equal(r.apiKey, API_KEY);
  assert.equal(r.keyPassphrase, 'c2f0b5e1a7d94e3b8a61f0d2c4e9b7a3');
  const doc = parseToml(r.toml) as { datadog: Record<string, unknown>; ingest: Record<string, unknown> };
  assert.equal(doc.datadog['api-key-file'], undefined);
  assert.equal(doc.ingest['key-passphrase-file'], undefined);
});

test('the broken fixture: the error names the file and the line of the unclosed section', () => {
  const path = fixture('fluentd', 'broken.conf');
  assert.throws(
    () => migrateFluentd({ fluentConf: readFileSync(path, 'utf8'), fluentConfPath: path }),
    (err: unknown) =>
      err instanceof FluentConfigError &&
      err.file === path &&
      err.line === 6 &&
      err.message.startsWith(`${path}:6: `) &&
      /<match test\.log> is never closed: expected <\/match>/.test(err.message) &&
      !err.message.includes(API_KEY),
  );
  assert.equal(resolve(path), path);
});

test('files fluent.conf and the handler toml name that are not on this host get a note with the line and what to set', () => {
  const here = new Set(['/keys/server.crt', '/opt/h/tbot/identity-ok']);
  const handler = '[teleport]\naddr = "auth:3025"\nidentity = "tbot/identity"\n';
  const r = migrateFluentd({
    fluentConf: TLS_SOURCE,
    fluentConfPath: '/etc/fluent/fluent.conf',
    handlerToml: handler,
    handlerTomlPath: '/opt/h/handler.toml',
    fileExists: (p) => here.has(p),
  });
  hasNote(
    r.notes,
    'warn',
    'fluent.conf:6',
    /^ca_path \/keys\/ca\.crt not found here \(a path inside Fluentd's container\?\): copy the file and set ingest\.ca$/,
  );
  hasNote(r.notes, 'warn', 'fluent.conf:8', /^private_key_path \/keys\/server\.key not found here .*set ingest\.key$/);
  assert.ok(!r.notes.some((x) => x.where === 'fluent.conf:7'), 'server.crt is here: no note');
  hasNote(
    r.notes,
    'warn',
    'handler.toml:3',
    /^teleport\.identity \/opt\/h\/tbot\/identity not found here \(a path inside teleport-event-handler's container\?\): copy the file and set teleport\.identity$/,
  );
  // without a way to look, nothing is claimed
  const pure = migrateFluentd({ fluentConf: TLS_SOURCE, fluentConfPath: '/etc/fluent/fluent.conf' });
  assert.ok(!pure.notes.some((x) => /not found here/.test(x.message)));
});

test('start --config fluent.conf looks on this disk for the files it names', () => {
  const dir = caseDir('exists-');
  writeFileSync(join(dir, 'ca.crt'), 'x');
  const file = join(dir, 'fluent.conf');
  writeFileSync(file, TLS_SOURCE.replace('/keys/ca.crt', join(dir, 'ca.crt')));
  const r = readFluentConf(file, {});
  assert.ok(!r.notes.some((x) => x.where === 'fluent.conf:6'), 'ca.crt is there');
  hasNote(r.notes, 'warn', 'fluent.conf:7', /^cert_path \/keys\/server\.crt not found here/);
});
