// what the loader says to a new user: syntax errors with their position, which source is on and why not, keys
// that are accepted but do nothing, and where an env-sourced bad value came from
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadConfig, type ConfigNote } from '../../src/config/load.js';
import { SETTINGS, flagName } from '../../src/config/schema.js';
import { configurationMarkdown } from '../../src/config/docs.js';
import { tomlErrorMessage } from '../../src/config/values.js';
import { unquotedValues } from '../../src/config/toml-hints.js';
import { settingOptions } from '../../src/cli/options.js';
import { ConfigError } from '../../src/errors.js';
import { fixture } from '../helpers/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'tdf-messages-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const toml = (...lines: string[]): string => {
  const file = join(tmp, `c${n++}.toml`);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
};
const env = { DD_API_KEY: 'k' } as NodeJS.ProcessEnv;
const INGEST = ['[ingest]', 'ca = "/k/ca.crt"', 'cert = "/k/server.crt"', 'key = "/k/server.key"'];

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
    return err.message;
  }
  assert.fail('no error');
}

function noteMatching(notes: readonly ConfigNote[], re: RegExp): ConfigNote | undefined {
  return notes.find((x) => re.test(x.message));
}

test('a TOML syntax error gives file:line:col, the reason and the offending line with a caret', () => {
  const file = fixture('config', 'bad-syntax.toml');
  assert.equal(
    message(() => loadConfig({ file, env, partial: true })),
    `${file}:1:8: invalid TOML: illegal character in key\n  1 | [ingest\n    |        ^`,
  );
  // an error further down: the position is that line's
  const second = toml('storage = "/s"', '', 'batch = = 3');
  assert.match(
    message(() => loadConfig({ file: second, env, partial: true })),
    new RegExp(`^${second}:3:9: invalid TOML: invalid value\\n  3 \\| batch = = 3\\n    \\| {9}\\^$`),
  );
});

test('a TOML syntax error does not quote a line that may hold a secret, nor a long line', () => {
  const file = toml('[datadog]', 'api-key = "abcd1234secret');
  const msg = message(() => loadConfig({ file, env, partial: true }));
  assert.match(msg, new RegExp(`^${file}:2:\\d+: invalid TOML: `));
  assert.ok(!msg.includes('abcd1234'), msg);
  const long = toml(`types = ["${'a'.repeat(150)}" "b"]`);
  const longMsg = message(() => loadConfig({ file: long, env, partial: true }));
  assert.match(longMsg, new RegExp(`^${long}:1:\\d+: invalid TOML: [^\\n]+$`));
  // a value on its own line inside a multi-line string (its key on the line above) is never quoted
  const multi = toml('[ingest]', 'key-passphrase = """', 'my\\pass-word-99', '"""');
  const multiMsg = message(() => loadConfig({ file: multi, env, partial: true }));
  assert.match(multiMsg, new RegExp(`^${multi}:3:\\d+: invalid TOML: [^\\n]+$`));
  assert.ok(!multiMsg.includes('pass-word-99'), multiMsg);
  // something that is not a TomlError keeps the old form
  assert.equal(tomlErrorMessage('/f.toml', '', new Error('boom\nmore')), '/f.toml: invalid TOML: boom');
});

test('unquoted values: which lines a quote would fix, and how', () => {
  const cases: Array<[string, Array<{ line: number; key: string; fixed?: string }>]> = [
    ['ca = /home/bob/ca.crt', [{ line: 1, key: 'ca', fixed: 'ca = "/home/bob/ca.crt"' }]],
    ['addr = teleport.example.com:443', [{ line: 1, key: 'addr', fixed: 'addr = "teleport.example.com:443"' }]],
    ['  timeout = 10s  # go duration', [{ line: 1, key: 'timeout', fixed: 'timeout = "10s" # go duration' }]],
    ['refresh.enabled = yes', [{ line: 1, key: 'refresh.enabled', fixed: 'refresh.enabled = "yes"' }]],
    // valid values and other mistakes are not quoting mistakes
    ['batch = 20\nok = true\nt = 2024-05-01T00:00:00Z\nl = ["a"]\ns = "x"', []],
    ['batch = = 3', []],
    ['s = "unterminated', []],
    // lines of a multi-line string are its value
    ['p = """\nfoo = bar\n"""\nq = baz', [{ line: 4, key: 'q', fixed: 'q = "baz"' }]],
    // secrets and unprintable values are named by key only
    ['api-key = abc123', [{ line: 1, key: 'api-key' }]],
    ['x = a\u0001b', [{ line: 1, key: 'x' }]],
  ];
  for (const [text, want] of cases) assert.deepEqual(unquotedValues(text), want, text);
});

test('no config at all: says that no config file was given before which keys to set', () => {
  const msg = message(() => loadConfig({ env }));
  assert.match(msg, /^no config file was given \(--config or TDF_CONFIG\)/);
  assert.match(msg, /nothing to forward: .*ingest\.ca, ingest\.cert, ingest\.key.*teleport\.identity/);
  // with a file, the file is named instead
  const file = toml('storage = "/s"');
  assert.match(
    message(() => loadConfig({ file, env })),
    new RegExp(`^${file}: nothing to forward: configure the ingest`),
  );
});

test('ingest.enabled and teleport.enabled both false: says exactly that, and where each came from', () => {
  const file = toml('[ingest]', 'enabled = false', '[teleport]', 'enabled = false');
  assert.equal(
    message(() => loadConfig({ file, env })),
    `nothing to forward: ingest.enabled (${file}: key "ingest.enabled") and teleport.enabled (${file}: key "teleport.enabled") are both false; set one of them to true`,
  );
  assert.match(
    message(() => loadConfig({ env: { ...env, TDF_INGEST_ENABLED: 'false' }, flags: { 'teleport-enabled': false } })),
    /ingest\.enabled \(environment variable TDF_INGEST_ENABLED\) and teleport\.enabled \(flag --teleport-enabled\) are both false/,
  );
  // one switched off, the other never configured
  const off = toml('[ingest]', 'enabled = false');
  assert.match(
    message(() => loadConfig({ file: off, env })),
    /nothing to forward: ingest\.enabled is false \(.*key "ingest\.enabled"\) and the Teleport poller is not configured/,
  );
});

test('teleport.* keys given while teleport.enabled is false: a warning that names them and where they came from', () => {
  const file = toml(...INGEST, '[teleport]', 'enabled = false');
  const c = loadConfig({
    file,
    env: { ...env, FDFWD_TELEPORT_ADDR: 'auth:3025' },
    flags: { 'teleport-identity': '/id' },
  });
  assert.equal(c.teleport.enabled, false);
  const note = noteMatching(c.notes, /teleport\.enabled is false/);
  assert.ok(note, JSON.stringify(c.notes));
  assert.equal(note.level, 'warn');
  assert.equal(note.where, `${file}: key "teleport.enabled"`);
  assert.match(note.message, /teleport\.addr \(environment variable FDFWD_TELEPORT_ADDR\)/);
  assert.match(note.message, /teleport\.identity \(flag --teleport-identity\)/);
  // written side by side in the file (what migrate suggests to keep the handler): only an info
  const both = toml(...INGEST, '[teleport]', 'enabled = false', 'identity = "/id"');
  assert.equal(noteMatching(loadConfig({ file: both, env }).notes, /teleport\.enabled is false/)?.level, 'info');
  // nothing of the poller set: nothing to say
  assert.deepEqual(loadConfig({ file, env }).notes, []);
});

test('every setting has its flag once: no alias equals the flag name (start --help, docs)', () => {
  for (const s of SETTINGS)
    assert.ok(!(s.aliases ?? []).includes(flagName(s.key)), `${s.key}: an alias equal to --${flagName(s.key)}`);
  const opts = settingOptions();
  for (const [name, o] of Object.entries(opts))
    assert.ok(!([o.alias ?? []].flat() as string[]).includes(name), `--${name} is its own alias`);
  for (const line of configurationMarkdown()
    .split('\n')
    .filter((l) => l.startsWith('| `'))) {
    const flags = line.split(' | ')[3]!.split(', ');
    assert.equal(new Set(flags).size, flags.length, line);
  }
  // the handler's spellings still work: flags, and the flat toml keys
  const c = loadConfig({
    env: { ...env, FDFWD_TELEPORT_IDENTITY: '/id' },
    flags: { 'lock-enabled': true, 'lock-failed-attempts-count': '5' },
  });
  assert.deepEqual([c.teleport.lockEnabled, c.teleport.lockFailedAttemptsCount], [true, 5]);
  const flat = loadConfig({ file: toml('lock-enabled = true', 'lock-period = "2m"', ...INGEST), env });
  assert.deepEqual([flat.teleport.lockEnabled, flat.teleport.lockPeriodMs], [true, 120_000]);
});

test('obsolete teleport-event-handler keys (namespace, cursor) load with a warning that says why they are ignored', () => {
  const file = toml(
    'namespace = "default"',
    'cursor = "abc"',
    'storage = "./storage"',
    '[teleport]',
    'identity = "identity"',
  );
  const c = loadConfig({ file, env });
  assert.equal(c.teleport.enabled, true);
  const ns = c.notes.find((x) => x.where === `${file}: key "namespace"`);
  assert.equal(ns?.level, 'warn');
  assert.match(ns!.message, /obsolete teleport-event-handler key, ignored: .*namespace, "default"/);
  assert.match(
    c.notes.find((x) => x.where === `${file}: key "cursor"`)!.message,
    /ignored: the poller keeps its own cursors in storage/,
  );
  // other unknown keys are still refused
  assert.match(
    message(() => loadConfig({ file: toml('mystery = 1', ...INGEST), env })),
    /unknown key "mystery"/,
  );
  assert.match(
    message(() => loadConfig({ file: toml('constructor = 1', ...INGEST), env })),
    /unknown key "constructor"/,
  );
});

test('a bad value from the environment names the variable: DD_SITE, DD_LOGS_INTAKE_URL, secret files, teleport keys', () => {
  const flags = { 'teleport-identity': '/id' };
  assert.match(
    message(() => loadConfig({ env: { ...env, DD_SITE: 'datadoghq.co' }, flags })),
    /^environment variable DD_SITE: unknown Datadog site "datadoghq\.co": use one of datadoghq\.com, /,
  );
  assert.match(
    message(() => loadConfig({ env: { ...env, DD_LOGS_INTAKE_URL: 'ftp://x' }, flags })),
    /^environment variable DD_LOGS_INTAKE_URL: Datadog intake url "ftp:\/\/x" must use http or https/,
  );
  const site = toml('[datadog]', 'site = "datadog.eu"', ...INGEST);
  assert.match(
    message(() => loadConfig({ file: site, env })),
    new RegExp(`^${site}: key "datadog\\.site": unknown Datadog site "datadog\\.eu"`),
  );
  // check loads partially to run its other checks: the site is then left to the datadog check
  assert.equal(loadConfig({ env: { DD_SITE: 'datadoghq.co' }, partial: true }).datadog.site, 'datadoghq.co');
  assert.match(
    message(() => loadConfig({ env: { TDF_DATADOG_API_KEY_FILE: join(tmp, 'none.key') }, flags })),
    /^environment variable TDF_DATADOG_API_KEY_FILE: cannot read .*none\.key: ENOENT/,
  );
  assert.match(
    message(() => loadConfig({ env: { ...env, TDF_INGEST_KEY_PASSPHRASE_FILE: join(tmp, 'none.pass') }, flags })),
    /^environment variable TDF_INGEST_KEY_PASSPHRASE_FILE: cannot read /,
  );
  assert.match(
    message(() => loadConfig({ env: { ...env, FDFWD_TELEPORT_CA: '/ca' } })),
    /go together: set all three or none \(set: teleport\.ca \(environment variable FDFWD_TELEPORT_CA\)\)/,
  );
  assert.match(
    message(() => loadConfig({ env: { ...env, TDF_INGEST_CA: '/ca' } })),
    /key "ingest\.cert" is required when the ingest is enabled \(set: ingest\.ca \(environment variable TDF_INGEST_CA\)\)/,
  );
  assert.match(
    message(() => loadConfig({ env: { ...env, TDF_TELEPORT_ENABLED: 'true' } })),
    /the Teleport poller is enabled \(environment variable TDF_TELEPORT_ENABLED\) but has no credentials/,
  );
});

test('routing.max-age over 18 h: a warning naming where it was set (Datadog does not index older logs as current)', () => {
  const flags = { 'teleport-identity': '/id', 'routing-max-age': '24h' };
  const c = loadConfig({ env, flags });
  assert.equal(c.routing.maxAgeMs, 24 * 3600_000);
  const note = noteMatching(c.notes, /max-age/);
  assert.equal(note?.level, 'warn');
  assert.equal(note!.where, 'flag --routing-max-age');
  assert.match(note!.message, /routing\.max-age is 24 h, over Datadog's 18 h/);
  assert.equal(
    noteMatching(loadConfig({ env, flags: { ...flags, 'routing-max-age': '18h' } }).notes, /max-age/),
    undefined,
  );
  // with old-timestamps = keep, max-age is not used
  assert.equal(
    noteMatching(loadConfig({ env, flags: { ...flags, 'routing-old-timestamps': 'keep' } }).notes, /max-age/),
    undefined,
  );
});

test('a fluent.conf started as it is: a note says where the spool goes, unless storage is set', () => {
  const file = fixture('fluentd', 'teleport-datadog.conf');
  const notes = loadConfig({ file, env, partial: true }).notes.filter((n) => /the spool is kept in/.test(n.message));
  assert.equal(notes.length, 1);
  assert.equal(notes[0]!.where, file);
  assert.match(
    notes[0]!.message,
    new RegExp(`kept in ${join(fixture('fluentd'), 'storage')}, beside this fluent\\.conf.*env TDF_STORAGE`),
  );
  const set = loadConfig({ file, env: { ...env, TDF_STORAGE: '/var/lib/tdf' }, partial: true });
  assert.equal(set.notes.filter((n) => /the spool is kept in/.test(n.message)).length, 0);
  // a toml config names its own storage, default or not: no note
  const toml = loadConfig({ file: fixture('fluentd', 'teleport-event-handler.toml'), env, partial: true });
  assert.equal(toml.notes.filter((n) => /the spool is kept in/.test(n.message)).length, 0);
});
