// a config file with toml mistakes, through the real cli: every unquoted value is named in one run, with its fix
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliCommand, fixture, repoRoot } from '../helpers/paths.js';

function cli(args: string[]) {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DD_API_KEY: 'k0123456789' };
  return spawnSync(cliCommand[0]!, [...cliCommand.slice(1), ...args], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

test('the guide teleport-event-handler.toml with unquoted values: start and check name every line and its fix', () => {
  const file = fixture('config', 'teleport-event-handler-unquoted.toml');
  // start stops with exit 2 and the error on stderr; check reports it as its failed config line, exit 1
  for (const [args, code, head] of [
    [['start', '--config', file], 2, 'error: '],
    [['check', '--offline', '--config', file], 1, 'FAIL  config +'],
  ] as const) {
    const r = cli([...args]);
    const out = code === 2 ? r.stderr : r.stdout;
    assert.equal(r.status, code, `${args[0]}: ${r.stderr}${r.stdout}`);
    assert.match(out, new RegExp(`^${head}${file}:9:\\d+: invalid TOML: `), args[0]);
    assert.match(out, /3 values are not quoted \(a TOML string needs quotes\):/);
    assert.match(out, /\n {2}line 9: quote the string: ca = "\/home\/bob\/event-handler\/ca\.crt"\n/);
    assert.match(out, /\n {2}line 10: quote the string: cert = "\/home\/bob\/event-handler\/client\.crt"\n/);
    // a comment after the value stays a comment
    assert.match(out, /\n {2}line 16: quote the string: addr = "teleport\.example\.com:443" # the proxy\n/);
    assert.doesNotMatch(out, /line (11|12|13|17):/, 'quoted values are not named');
  }
});

test('an unquoted secret is named by its key, its value never shown', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-toml-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'forwarder.toml');
  writeFileSync(file, '[datadog]\napi-key = abcd1234secretvalue\n[ingest]\nkey-passphrase = hunter2hunter2\n');
  const r = cli(['start', '--config', file]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /line 2: quote the string: key "api-key" \(value not shown: put it in quotes\)/);
  assert.match(r.stderr, /line 4: quote the string: key "key-passphrase" \(value not shown/);
  assert.doesNotMatch(r.stderr + r.stdout, /abcd1234|hunter2/);
});
