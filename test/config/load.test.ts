import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { parseMatchTables } from '../../src/config/parse.js';
import { TRUNCATED_KEY } from '../../src/router/truncate.js';
import { parseDuration, parseBytes, parseList, parseTime } from '../../src/config/values.js';

import { fixture as fixturePath } from '../helpers/paths.js';

const fixture = (name: string) => fixturePath('config', name);
const env = { DD_API_KEY: 'k' } as NodeJS.ProcessEnv;

test('go durations, sizes, lists and times', () => {
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('0'), 0);
  assert.throws(() => parseDuration('10'), /duration like/);
  assert.throws(() => parseDuration(10), /duration string/);
  assert.equal(parseBytes('32MiB'), 32 * 1024 * 1024);
  assert.equal(parseBytes('5MB'), 5_000_000);
  assert.equal(parseBytes(1024), 1024);
  assert.throws(() => parseBytes('5 parsecs'), /size like/);
  assert.deepEqual(parseList('a, b,,c'), ['a', 'b', 'c']);
  assert.deepEqual(parseList(''), []);
  assert.deepEqual(parseList(['x']), ['x']);
  assert.equal(parseTime('2024-05-01T00:00:00Z').toISOString(), '2024-05-01T00:00:00.000Z');
  assert.throws(() => parseTime('yesterday'), /RFC 3339/);
});

test('our own config file: paths relative to the file, match rules, typed values', () => {
  const c = loadConfig({ file: fixture('forwarder.toml'), env: {} });
  const dir = resolve(fixture('forwarder.toml'), '..');
  assert.equal(c.storage, '/var/lib/tdf');
  assert.equal(c.ingest.enabled, true);
  assert.equal(c.ingest.port, 9888);
  assert.equal(c.ingest.ca, resolve(dir, 'certs/ca.crt'));
  assert.equal(c.ingest.bodyLimit, 16 * 1024 * 1024);
  assert.equal(c.datadog.site, 'datadoghq.eu');
  assert.equal(c.datadog.apiKey, 'not-a-real-key-0123456789abcdef');
  assert.equal(c.spool.maxBytes, 2 * 1024 ** 3);
  assert.equal(c.routing.unmatched, 'reject');
  assert.equal(c.routing.rules.length, 2);
  assert.deepEqual(c.routing.rules[0], { pattern: 'session.*.log', type: 'null' });
  assert.deepEqual(c.routing.rules[1]!.tags, ['env:prod', 'team:security']);
  assert.equal(c.routing.rules[1]!.includeTagKey, true);
  assert.equal(c.teleport.enabled, false);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.ingest));
});

test('teleport-event-handler.toml loads unchanged; its url paths give the tags', () => {
  const c = loadConfig({ file: fixture('teleport-event-handler.toml'), env });
  assert.equal(c.teleport.enabled, true);
  assert.equal(c.teleport.addr, 'teleport.example.com:443');
  assert.equal(c.teleport.identity, resolve(fixture('teleport-event-handler.toml'), '..', 'identity'));
  assert.equal(c.teleport.refreshEnabled, true);
  assert.equal(c.teleport.refreshIntervalMs, 120_000);
  assert.equal(c.teleport.timeoutMs, 10_000);
  assert.equal(c.teleport.windowSizeMs, 86_400_000);
  assert.deepEqual(c.teleport.types, []);
  assert.equal(c.teleport.eventsTag, 'test.log');
  assert.equal(c.teleport.sessionTagPrefix, 'session');
  assert.equal(c.ingest.enabled, false);
});

test("teleport.mode and teleport.cluster-name: auto and the identity's cluster by default; an empty cluster name is unset", () => {
  const file = fixture('teleport-event-handler.toml');
  const c = loadConfig({ file, env });
  assert.equal(c.teleport.mode, 'auto');
  assert.equal(c.teleport.clusterName, undefined);
  const set = loadConfig({
    file,
    env: { ...env, TDF_TELEPORT_MODE: 'proxy', TDF_TELEPORT_CLUSTER_NAME: 'leaf.example.com' },
  });
  assert.equal(set.teleport.mode, 'proxy');
  assert.equal(set.teleport.clusterName, 'leaf.example.com');
  assert.equal(loadConfig({ file, env: env, flags: { 'teleport-cluster-name': '' } }).teleport.clusterName, undefined);
  assert.throws(
    () => loadConfig({ file, env: { ...env, TDF_TELEPORT_MODE: 'tunnel' } }),
    /teleport\.mode.*auto, direct, proxy|expected one of/,
  );
});

test('precedence: defaults < file < env < flags; teleport-event-handler env names work', () => {
  const file = fixture('forwarder.toml');
  assert.equal(loadConfig({ file, env: {} }).ingest.port, 9888);
  assert.equal(loadConfig({ file, env: { TDF_INGEST_PORT: '7000' } }).ingest.port, 7000);
  assert.equal(
    loadConfig({ file, env: { TDF_INGEST_PORT: '7000' }, flags: { 'ingest-port': '7001' } }).ingest.port,
    7001,
  );
  const c = loadConfig({
    env: {
      FDFWD_TELEPORT_IDENTITY: '/id',
      FDFWD_BATCH: '50',
      FDWRD_FLUENTD_CA: '/ca',
      FDFWD_FLUENTD_URL: 'https://x:8888/audit/events.log',
      DD_API_KEY: 'k',
    },
    flags: { 'lock-enabled': true },
  });
  assert.equal(c.teleport.identity, '/id');
  assert.equal(c.teleport.batch, 50);
  assert.equal(c.teleport.eventsTag, 'audit.events.log');
  assert.equal(c.teleport.lockEnabled, true);
  assert.equal(c.routing.rules[0]!.pattern, '**');
  // the handler's own misspelling for the teleport cert, beside its correctly spelled ca and key
  const m = loadConfig({
    env: {
      FDFWD_TELEPORT_CA: '/ca',
      FDWRD_TELEPORT_CERT: '/cert',
      FDFWD_TELEPORT_KEY: '/key',
      FDWRD_MAX_CONNECTIONS: '4',
      DD_API_KEY: 'k',
    },
  });
  assert.deepEqual([m.teleport.ca, m.teleport.cert, m.teleport.key], ['/ca', '/cert', '/key']);
  assert.equal(m.teleport.enabled, true);
});

test('errors name the file, the key and what was expected', () => {
  const cases: Array<[string, RegExp]> = [
    ['unknown-key.toml', /unknown-key\.toml: unknown key "ingest\.prot" \(did you mean "ingest\.port"\?\)/],
    ['bad-port.toml', /bad-port\.toml: key "ingest\.port": expected a whole number, got "eighty"/],
    ['bad-syntax.toml', /bad-syntax\.toml:1:8: invalid TOML: illegal character in key/],
    ['match-no-pattern.toml', /match-no-pattern\.toml: \[\[match\]\] #1: key "pattern" is required/],
    ['missing.toml', /missing\.toml cannot be read: no such file/],
  ];
  for (const [name, re] of cases) {
    assert.throws(
      () => loadConfig({ file: fixture(name), env, partial: true }),
      (err: unknown) => err instanceof ConfigError && re.test(err.message),
      name,
    );
  }
  assert.throws(
    () => loadConfig({ env: { TDF_INGEST_PORT: '70000' }, partial: true }),
    /environment variable TDF_INGEST_PORT: expected a whole number from 0 to 65535, got 70000/,
  );
  assert.throws(
    () => loadConfig({ env: {}, flags: { 'datadog-compression': 'zstd' }, partial: true }),
    /flag --datadog-compression: expected one of "gzip", "deflate", "none"/,
  );
});

// the router takes the rules as they are: what it once re-checked is checked here, with the file and the table
test('[[match]] tables: each bad value is refused with the file, the table and the key', () => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ pattern: 3 }, /key "pattern": expected a string, got 3/],
    [{ pattern: '**', type: 'stdout' }, /key "type": expected "datadog" or "null", got "stdout"/],
    [{ pattern: '**', source: 1 }, /key "source": expected a string, got 1/],
    [{ pattern: '**', 'source-category': true }, /key "source-category": expected a string/],
    [{ pattern: '**', service: [] }, /key "service": expected a string/],
    [{ pattern: '**', hostname: 2 }, /key "hostname": expected a string/],
    [{ pattern: '**', tags: 5 }, /key "tags": expected a list of strings/],
    [{ pattern: '**', tags: [1] }, /key "tags": expected a list of strings/],
    [{ pattern: '**', 'include-tag-key': 'yes' }, /key "include-tag-key": expected true or false/],
    [{ pattern: '**', 'tag-key': '' }, /key "tag-key": must not be empty/],
    [{ pattern: '**', 'tag-key': '__proto__' }, /key "tag-key": "__proto__" is a JavaScript built-in/],
    [{ pattern: '**', 'timestamp-key': 'constructor' }, /key "timestamp-key": "constructor" is a JavaScript built-in/],
    [{ pattern: '**', 'tag-key': TRUNCATED_KEY }, /key "tag-key": ".*" is the forwarder's own key/],
    [{ pattern: '**', 'timestamp-key': TRUNCATED_KEY }, /key "timestamp-key": ".*" is the forwarder's own key/],
  ];
  for (const [table, re] of bad) {
    assert.throws(
      () => parseMatchTables([{ pattern: 'ok' }, table], '/etc/tdf.toml'),
      (err: unknown) =>
        err instanceof ConfigError && /^\/etc\/tdf\.toml: \[\[match\]\] #2: /.test(err.message) && re.test(err.message),
      JSON.stringify(table),
    );
  }
  // a list's commas split it, so no tag holds one; an empty timestamp-key means none (fluentd's own)
  assert.deepEqual(parseMatchTables([{ pattern: '**', tags: 'a:b, c:d,', 'timestamp-key': '' }], 'f'), [
    { pattern: '**', type: 'datadog', tags: ['a:b', 'c:d'], timestampKey: '' },
  ]);
});

test('cross-key checks: sources, credentials and the api key', () => {
  assert.throws(() => loadConfig({ env }), /nothing to forward/);
  assert.throws(
    () => loadConfig({ env, flags: { 'ingest-ca': 'a', 'ingest-cert': 'b' } }),
    /key "ingest\.key" is required/,
  );
  assert.throws(() => loadConfig({ env, flags: { 'teleport-ca': 'a' } }), /go together/);
  assert.throws(
    () => loadConfig({ env: {}, flags: { 'teleport-identity': 'id' } }),
    /no Datadog API key: set the DD_API_KEY/,
  );
  assert.equal(loadConfig({ env: {}, flags: { 'teleport-identity': 'id', 'dry-run': true } }).dryRun, true);
});

test('a secret never appears in an error', () => {
  assert.throws(
    () => loadConfig({ env: { DD_API_KEY: 'k' }, flags: { 'ingest-key-passphrase': 'hunter2', 'ingest-ca': 'a' } }),
    (err: Error) => !err.message.includes('hunter2'),
  );
});

test('an api key that cannot go in a header is refused at start, without showing it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-key-'));
  try {
    const file = join(dir, 'dd.key');
    writeFileSync(file, 'abcdef0123456789\nsecond-line-secret\n', { mode: 0o600 });
    assert.throws(
      () => loadConfig({ env: {}, flags: { 'datadog-api-key-file': file, 'teleport-identity': 'id' } }),
      (err: Error) =>
        /several lines/.test(err.message) &&
        !err.message.includes('second-line-secret') &&
        !err.message.includes('abcdef'),
    );
    assert.throws(
      () => loadConfig({ env: { DD_API_KEY: 'has space' }, flags: { 'teleport-identity': 'id' } }),
      /one line of printable characters/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad value in the file is an error even when an env var overrides it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-ovr-'));
  try {
    const file = join(dir, 'c.toml');
    writeFileSync(file, '[ingest]\nport = "eighty"\n');
    assert.throws(
      () => loadConfig({ file, env: { TDF_INGEST_PORT: '9000' }, partial: true }),
      /key "ingest\.port": expected a whole number/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('"[]" is the empty list, so an env var can clear a list that has a default', () => {
  assert.deepEqual(parseList('[]'), []);
  assert.deepEqual(parseList(' [ ] '), []);
  assert.deepEqual(parseList('print,[]'), ['print', '[]'], 'only a whole "[]" is the empty list');
  const base = { DD_API_KEY: 'k', FDFWD_TELEPORT_IDENTITY: '/id' };
  assert.deepEqual(loadConfig({ env: base }).teleport.skipSessionTypes, ['print']);
  // an empty env var counts as unset: the default stays
  assert.deepEqual(loadConfig({ env: { ...base, TDF_SKIP_SESSION_TYPES: '' } }).teleport.skipSessionTypes, ['print']);
  assert.deepEqual(loadConfig({ env: { ...base, TDF_SKIP_SESSION_TYPES: '[]' } }).teleport.skipSessionTypes, []);
  assert.deepEqual(loadConfig({ env: { ...base, FDFWD_SKIP_SESSION_TYPES: '[ ]' } }).teleport.skipSessionTypes, []);
  assert.deepEqual(loadConfig({ env: base, flags: { 'skip-session-types': '[]' } }).teleport.skipSessionTypes, []);
});

test('the secret files read are named beside their contents, resolved like every path; not a file an inline value overrides', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-secret-files-'));
  try {
    writeFileSync(join(dir, 'dd.key'), 'abcdef0123456789\n', { mode: 0o600 });
    writeFileSync(join(dir, 'pass'), 'hunter2\n', { mode: 0o600 });
    // a dotted key at the top is the same setting as one under its table
    const file = join(dir, 'c.toml');
    writeFileSync(
      file,
      '"ingest.key-passphrase-file" = "pass"\n[datadog]\napi-key-file = "dd.key"\n[teleport]\nidentity = "id"\n',
    );
    const c = loadConfig({ file, env: {}, cwd: '/' });
    assert.equal(c.datadog.apiKey, 'abcdef0123456789');
    assert.equal(c.datadog.apiKeyFile, join(dir, 'dd.key'));
    assert.equal(c.ingest.keyPassphrase, 'hunter2');
    assert.equal(c.ingest.keyPassphraseFile, join(dir, 'pass'));

    // an env var's or a flag's relative path is from the working directory
    const fromEnv = loadConfig({
      env: { TDF_DATADOG_API_KEY_FILE: 'dd.key' },
      flags: { 'ingest-key-passphrase-file': 'pass', 'teleport-identity': 'id' },
      cwd: dir,
    });
    assert.equal(fromEnv.datadog.apiKeyFile, join(dir, 'dd.key'));
    assert.equal(fromEnv.ingest.keyPassphraseFile, join(dir, 'pass'));

    const inline = loadConfig({ file, env: { DD_API_KEY: 'k', TDF_INGEST_KEY_PASSPHRASE: 'p' } });
    assert.equal(inline.datadog.apiKey, 'k');
    assert.equal(inline.datadog.apiKeyFile, undefined);
    assert.equal(inline.ingest.keyPassphrase, 'p');
    assert.equal(inline.ingest.keyPassphraseFile, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
