import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { runMigrate, readFluentConf, configFromFluentConf } from '../../src/cli/migrate.js';
import { ConfigError, FluentConfigError } from '../../src/errors.js';
import { fixture } from '../helpers/paths.js';

const API_KEY = '0123456789abcdef0123456789abcdef';
const PASSPHRASE = 'c2f0b5e1a7d94e3b8a61f0d2c4e9b7a3';
const tmpRoot = mkdtempSync(join(tmpdir(), 'tdf-migrate-cli-'));
after(() => rmSync(tmpRoot, { recursive: true, force: true }));
const fresh = (name: string) => mkdtempSync(join(tmpRoot, name + '-'));
const mode = (p: string) => statSync(p).mode & 0o777;

function capture(): { print: (t: string) => void; text: () => string } {
  let out = '';
  return { print: (t) => void (out += t), text: () => out };
}

test('migrate writes the toml, the api key and the passphrase (0600, not in the toml) and reports every note', async () => {
  const dir = fresh('out');
  const out = join(dir, 'sub', 'forwarder.toml');
  const cap = capture();
  const code = await runMigrate({
    fluentConf: fixture('fluentd', 'teleport-datadog.conf'),
    handlerConfig: fixture('fluentd', 'teleport-event-handler.toml'),
    out,
    env: {},
    print: cap.print,
  });
  assert.equal(code, 0);
  const keyFile = join(dir, 'sub', 'datadog-api-key');
  const passFile = join(dir, 'sub', 'ingest-key-passphrase');
  assert.equal(readFileSync(keyFile, 'utf8').trim(), API_KEY);
  assert.equal(readFileSync(passFile, 'utf8').trim(), PASSPHRASE);
  assert.equal(mode(keyFile), 0o600);
  assert.equal(mode(passFile), 0o600);
  const toml = readFileSync(out, 'utf8');
  assert.ok(!toml.includes(API_KEY) && !toml.includes(PASSPHRASE));
  assert.match(toml, /^api-key-file = "datadog-api-key"$/m);
  assert.match(toml, /^key-passphrase-file = "ingest-key-passphrase"$/m);

  const c = loadConfig({ file: out, env: {} });
  assert.equal(c.datadog.apiKey, API_KEY);
  assert.equal(c.ingest.keyPassphrase, PASSPHRASE);
  assert.equal(c.ingest.enabled, true);
  assert.equal(c.teleport.enabled, true);
  assert.equal(c.teleport.identity, fixture('fluentd', 'identity'));
  assert.deepEqual(c.routing.rules, [{ pattern: 'test.log', type: 'datadog', source: 'teleport' }]);

  const report = cap.text();
  assert.match(report, /wrote .*datadog-api-key \(mode 0600\)/);
  assert.match(report, new RegExp(`wrote ${out.replace(/[.]/g, '\\.')}\\n`));
  assert.match(report, /warn +teleport-datadog\.conf:38 +<match session\.\*\.log> @type stdout is not carried over/);
  assert.match(report, /warn +teleport-event-handler\.toml:1 +the built-in Teleport poller replaces/);
  assert.match(report, /start --config .* --dry-run/);
  assert.ok(!report.includes(API_KEY) && !report.includes(PASSPHRASE), 'no secret in the report');
});

test('migrate never overwrites the toml or a secret file without --force, and with it keeps secrets 0600', async () => {
  const dir = fresh('exists');
  const out = join(dir, 'forwarder.toml');
  writeFileSync(out, 'precious = true\n');
  const args = { fluentConf: fixture('fluentd', 'teleport-datadog.conf'), out, env: {}, print: () => {} };
  await assert.rejects(
    runMigrate(args),
    (err: unknown) =>
      err instanceof ConfigError && err.message.includes(out) && /not overwritten.*--force/.test(err.message),
  );
  assert.equal(readFileSync(out, 'utf8'), 'precious = true\n');
  assert.deepEqual(readdirSync(dir), ['forwarder.toml'], 'nothing else was written');

  // an existing key file alone is refused too
  rmSync(out);
  writeFileSync(join(dir, 'datadog-api-key'), 'old-key\n', { mode: 0o644 });
  await assert.rejects(
    runMigrate(args),
    (err: unknown) => err instanceof ConfigError && err.message.includes(join(dir, 'datadog-api-key')),
  );
  assert.equal(readFileSync(join(dir, 'datadog-api-key'), 'utf8'), 'old-key\n');
  assert.equal(existsSync(out), false);

  assert.equal(await runMigrate({ ...args, force: true }), 0);
  assert.equal(readFileSync(join(dir, 'datadog-api-key'), 'utf8').trim(), API_KEY);
  assert.equal(mode(join(dir, 'datadog-api-key')), 0o600, 'a replaced key file is 0600 too');
  assert.match(readFileSync(out, 'utf8'), /\[\[match\]\]/);
  assert.deepEqual(
    readdirSync(dir).sort(),
    ['datadog-api-key', 'forwarder.toml', 'ingest-key-passphrase'],
    'no temp file left',
  );

  // never onto an input, even with --force
  const input = join(dir, 'fluent.conf');
  writeFileSync(input, readFileSync(fixture('fluentd', 'configure.conf')));
  await assert.rejects(
    runMigrate({ fluentConf: input, out: input, force: true, env: {}, print: () => {} }),
    /is an input of the migration/,
  );
});

test('migrate of the broken fixture fails naming the file and line, and writes nothing', async () => {
  const dir = fresh('broken');
  const path = fixture('fluentd', 'broken.conf');
  await assert.rejects(
    runMigrate({ fluentConf: path, out: join(dir, 'forwarder.toml'), env: {}, print: () => {} }),
    (err: unknown) => err instanceof FluentConfigError && err.message.startsWith(`${path}:6: `) && err.line === 6,
  );
  assert.deepEqual(readdirSync(dir), []);
  await assert.rejects(
    runMigrate({ fluentConf: join(dir, 'missing.conf'), out: join(dir, 'x.toml'), env: {}, print: () => {} }),
    /cannot read the fluent\.conf .*missing\.conf: no such file/,
  );
});

test('migrate returns 1 and writes nothing when nothing usable was found', async () => {
  const dir = fresh('unusable');
  const conf = join(dir, 'fluent.conf');
  writeFileSync(conf, '<source>\n  @type forward\n</source>\n<match **>\n  @type stdout\n</match>\n');
  const cap = capture();
  assert.equal(await runMigrate({ fluentConf: conf, out: join(dir, 'forwarder.toml'), env: {}, print: cap.print }), 1);
  assert.deepEqual(readdirSync(dir), ['fluent.conf']);
  assert.match(cap.text(), /nothing usable was found/);
  assert.match(cap.text(), /warn +fluent\.conf:1 +<source> @type forward is not carried over/);
});

test('readFluentConf and configFromFluentConf: the toml in memory, secrets returned, includes followed', () => {
  const r = readFluentConf(fixture('fluentd', 'everything.conf'), {
    FLUENTD_PORT: '9443',
    DEPLOY_ENV: 'prod',
    DD_API_KEY: 'from-env',
  });
  assert.equal(r.usable, true);
  assert.equal(r.apiKey, 'from-env');
  assert.equal(r.keyPassphrase, "it's-a-secret");
  assert.deepEqual(r.secretFiles, []);
  assert.ok(
    r.notes.some((n) => n.where === 'conf.d/filters.conf:5'),
    'the included file was read',
  );
  const toml = configFromFluentConf(fixture('fluentd', 'teleport-datadog.conf'), {});
  assert.match(toml, /^\[ingest\]$/m);
  assert.ok(!toml.includes(API_KEY) && !toml.includes('api-key-file'));
  // what the loader will do with it: the toml text plus the returned key
  const dir = fresh('mem');
  writeFileSync(join(dir, 'mem.toml'), toml);
  const c = loadConfig({
    file: join(dir, 'mem.toml'),
    env: { DD_API_KEY: readFluentConf(fixture('fluentd', 'teleport-datadog.conf'), {}).apiKey! },
  });
  assert.equal(c.datadog.apiKey, API_KEY);
});
