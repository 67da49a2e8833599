// usage errors from the command line: one clear line, exit 2, and the command does not run anyway
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliCommand, repoRoot } from '../helpers/paths.js';

function cli(args: string[], storage: string) {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TDF_STORAGE: storage };
  return spawnSync(cliCommand[0]!, [...cliCommand.slice(1), ...args], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

test('an unknown action or flag is one error line, exit 2, and the command is not run', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-usage-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cases: Array<[string[], RegExp]> = [
    [['spool', 'frobnicate'], /Argument: action, Given: "frobnicate"/],
    [['spool', 'stats', '--bogus'], /Unknown argument: bogus/],
    [['start', '--nope'], /Unknown argument: nope/],
  ];
  for (const [args, reason] of cases) {
    const r = cli(args, join(dir, 'storage'));
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
    assert.equal(errors.length, 1, `${args.join(' ')} printed: ${r.stderr}`);
    assert.match(r.stderr, reason);
    assert.match(r.stderr, /run with --help for usage/);
    // the command itself never ran: no spool message, no storage made
    assert.doesNotMatch(r.stderr + r.stdout, /no spool|starting/i, args.join(' '));
    assert.equal(existsSync(join(dir, 'storage')), false);
  }
});

test('--help shows durations and sizes as a config file would write them, each flag once', () => {
  const r = cli(['start', '--help'], join(tmpdir(), 'tdf-usage-unused'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\[default: "17h"\]/);
  assert.match(r.stdout, /\[default: "32MiB"\]/);
  assert.doesNotMatch(r.stdout, /61200000|33554432/);
  // each option line starts with its names: `--a, --b, -c  description`
  const flags = r.stdout
    .split('\n')
    .filter((l) => /^\s+-/.test(l))
    .flatMap((l) =>
      l
        .trim()
        .split(/\s{2,}/)[0]!
        .split(', '),
    );
  assert.ok(flags.includes('--lock-enabled'));
  assert.equal(new Set(flags).size, flags.length, 'no flag listed twice');
});

test("--help lists teleport-event-handler's [forward.fluentd] flags, in their own group, last", () => {
  const r = cli(['start', '--help'], join(tmpdir(), 'tdf-usage-unused'));
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const headers = lines.filter((l) => /^\S.*:$/.test(l));
  assert.equal(headers.at(-1), 'teleport-event-handler compatibility:', `groups: ${headers.join(' | ')}`);
  // the handler's spellings sit under that header, with what they do
  const group = lines.slice(lines.indexOf('teleport-event-handler compatibility:')).join('\n');
  for (const flag of [
    '--fluentd-url',
    '--fluentd-session-url',
    '--fluentd-ca',
    '--fluentd-cert',
    '--fluentd-key',
    '--fluentd-max-connections',
  ]) {
    assert.match(group, new RegExp(`^\\s+(--\\S+, )?${flag}(,|\\s|$)`, 'm'), flag);
  }
  assert.match(group, /its path sets\s+events-tag/);
  // and only there
  const before = lines.slice(0, lines.indexOf('teleport-event-handler compatibility:')).join('\n');
  assert.doesNotMatch(before, /--fluentd-/);
});
