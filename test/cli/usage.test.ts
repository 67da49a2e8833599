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
    [['spool', 'stats', '--bogus'], /Unknown argument: --bogus\./],
    [['start', '--nope'], /Unknown argument: --nope\./],
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

test('an unknown flag names the nearest flag of that command, once, without the camel-case spelling', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-usage-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cases: Array<[string[], string]> = [
    [['start', '--ingest-prot', '9000'], 'Unknown argument: --ingest-prot. Did you mean --ingest-port?'],
    [['status', '--jsn'], 'Unknown argument: --jsn. Did you mean --json?'],
    // a setting flag every command accepts
    [['spool', 'stats', '--storag', '/x'], 'Unknown argument: --storag. Did you mean --storage?'],
    [['demo', '--day', '2'], 'Unknown argument: --day. Did you mean --days?'],
    // nothing near: no guess
    [['check', '--frobnicate'], 'Unknown argument: --frobnicate.'],
  ];
  for (const [args, line] of cases) {
    const r = cli(args, join(dir, 'storage'));
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, `error: ${line}\nrun with --help for usage\n`, args.join(' '));
  }
  // a number flag given something else: what was expected, not NaN
  const nan = cli(['start', '--ingest-port', 'eighty'], join(dir, 'storage'));
  assert.equal(nan.status, 2);
  assert.match(nan.stderr, /^error: flag --ingest-port: expected a whole number/);
});

test('--help leads with --config and the common flags, types numbers, and shows each command its own flags', () => {
  const start = cli(['start', '--help'], join(tmpdir(), 'tdf-usage-unused'));
  assert.equal(start.status, 0, start.stderr);
  const lines = start.stdout.split('\n');
  const options = lines.filter((l) => /^\s+-/.test(l));
  assert.match(
    lines.find((l) => /^\S.*:$/.test(l))!,
    /^Common:$/,
    'the first group',
  );
  assert.match(options[0]!, /^\s+-c, --config\s/, 'the first flag');
  const common = options.slice(1, 10).map((l) => l.trim().split(/\s+/)[0]);
  for (const f of ['--storage', '--ingest-port', '--teleport-addr', '--teleport-identity', '--datadog-site'])
    assert.ok(common.includes(f), `${f} among the first flags: ${common.join(' ')}`);
  // whole numbers are numbers; sizes and durations stay strings ("32MiB", "10s")
  // an option's text runs from its line to the next option's
  const typeOf = (flag: string) => {
    const at = lines.findIndex((l) => new RegExp(`^\\s+(-\\w, )?${flag}\\s`).test(l));
    const end = lines.findIndex((l, i) => i > at && (/^\s+-/.test(l) || l.trim() === ''));
    return /\[(string|number|boolean)\]\s*$/.exec(lines.slice(at, end).join(' '))?.[1];
  };
  assert.equal(typeOf('--ingest-port'), 'number');
  assert.equal(typeOf('--batch'), 'number');
  assert.equal(typeOf('--spool-max-bytes'), 'string');

  // spool, status and check: their own flags and the few settings they use, not start's 200 lines
  for (const [cmd, own] of [
    [
      ['spool', 'stats'],
      ['--dead', '--url', '--storage'],
    ],
    [['status'], ['--url', '--json', '--storage', '--admin-port']],
    [['check'], ['--offline', '--storage', '--teleport-identity']],
  ] as const) {
    const r = cli([...cmd, '--help'], join(tmpdir(), 'tdf-usage-unused'));
    assert.equal(r.status, 0, r.stderr);
    const n = r.stdout.split('\n').length;
    assert.ok(n < 45, `${cmd[0]} --help is ${n} lines`);
    assert.match(r.stdout, /^\s+-c, --config\s/m);
    for (const f of own) assert.match(r.stdout, new RegExp(`\\s${f}\\s`), `${cmd[0]}: ${f}`);
    for (const f of ['--lock-enabled', '--fluentd-url', '--datadog-batch-max-bytes', '--ingest-body-limit'])
      assert.doesNotMatch(r.stdout, new RegExp(`${f}\\s`), `${cmd[0]} lists ${f}`);
    assert.match(r.stdout, /Every setting flag of `start` .* is accepted too/);
  }
});
