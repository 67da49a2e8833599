// the commands the demo prints are true: `spool stats` on its config after it ended, the printed rerun in the same
// directory (kept running with --follow), and `status` against it while it runs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliCommand, repoRoot } from '../helpers/paths.js';

const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
const small = ['--days', '1', '--events-per-day', '60', '--posts', '8'];

/** a printed command (`node [--import tsx] <script> args`), as argv for this node; the demo's paths have no spaces */
function argvOf(printed: string): string[] {
  const words = printed.trim().split(/\s+/);
  assert.equal(words[0], 'node', printed);
  return [process.execPath, ...words.slice(1)];
}

function printed(stdout: string, label: RegExp): string {
  const line = stdout.split('\n').find((l) => label.test(l));
  assert.ok(line, `no line ${label} in:\n${stdout}`);
  return line.replace(label, '');
}

test('demo: the printed spool, rerun and status commands work', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-demo-hints-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'forwarder.toml');

  const first = spawnSync(cliCommand[0]!, [...cliCommand.slice(1), 'demo', '--dir', dir, ...small], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(first.status, 0, first.stdout + first.stderr);
  assert.doesNotMatch(
    first.stdout,
    / start --config /,
    'no `start` line: the fake cluster and intake are gone after the demo',
  );

  // after the demo: its spool, opened from the config it wrote
  const spoolCmd = argvOf(printed(first.stdout, /^ {2}the spool +/));
  assert.deepEqual(spoolCmd.slice(-4), ['spool', 'stats', '--config', config]);
  const stats = spawnSync(spoolCmd[0]!, spoolCmd.slice(1), { cwd: repoRoot, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(stats.status, 0, stats.stdout + stats.stderr);
  assert.match(stats.stdout, new RegExp(`^storage: ${dir}/storage \\(opened directly`, 'm'));
  assert.match(stats.stdout, /^records: 0 /m, 'everything was delivered');

  // the printed rerun, in the same directory, kept running; `status` while it runs
  const rerun = argvOf(printed(first.stdout, /^ {2}again, kept running +/));
  assert.deepEqual(rerun.slice(-4), ['demo', '--dir', dir, '--follow']);
  const statusCmd = argvOf(printed(first.stdout, /^ +and meanwhile: /));
  assert.deepEqual(statusCmd.slice(-3), ['status', '--config', config]);
  const live = spawn(rerun[0]!, [...rerun.slice(1), ...small], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  live.stdout.on('data', (c: Buffer) => (out += c.toString()));
  live.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => live.on('exit', (code) => resolve(code)));
  t.after(() => {
    if (live.exitCode === null) live.kill('SIGKILL');
  });
  // every audit event exported and every post made: from here on, the live trickle
  const caughtUp = () =>
    [...out.matchAll(/exported (\d+) audit \+ \d+ session events \| posted (\d+) /g)].some(
      (m) => Number(m[1]) >= 60 && Number(m[2]) >= 8,
    );
  while (!caughtUp()) {
    assert.equal(live.exitCode, null, `the rerun ended early:\n${out}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(out.includes('ctrl-c stops it'), out);
  assert.equal(
    printed(out, /^ {2}while it runs +/),
    printed(first.stdout, /^ {2}while it runs +/),
    'the same status command, as the port is in the config',
  );
  // the same ports as the first run: the admin url it printed works for the rerun
  const adminUrl = printed(first.stdout, /^ {2}admin API +/).split(' ')[0]!;
  assert.equal(printed(out, /^ {2}admin API +/).split(' ')[0], adminUrl);
  assert.equal(
    printed(out, /^ {2}fluentd-compatible ingest +/),
    printed(first.stdout, /^ {2}fluentd-compatible ingest +/),
  );

  // counters move: new audit events and sessions from the fake teleport, new posts through the ingest
  const metric = async (name: string) => {
    const text = await (await fetch(`${adminUrl}/metrics`)).text();
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
    assert.ok(m, `${name} in /metrics`);
    return Number(m[1]);
  };
  const before = {
    events: await metric('tdf_teleport_events_total'),
    posts: await metric('tdf_ingest_requests_total'),
  };
  const deadline = Date.now() + 60_000;
  let sessionsBefore = -1;
  for (const m of out.matchAll(/\+ (\d+) session events/g)) sessionsBefore = Number(m[1]);
  while (
    (await metric('tdf_teleport_events_total')) <= before.events ||
    (await metric('tdf_ingest_requests_total')) <= before.posts ||
    ![...out.matchAll(/\+ (\d+) session events/g)].some((m) => Number(m[1]) > sessionsBefore)
  ) {
    assert.ok(Date.now() < deadline, `the counters did not move:\n${out}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  const status = spawnSync(statusCmd[0]!, statusCmd.slice(1), {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(status.status, 0, status.stdout + status.stderr);
  assert.doesNotMatch(status.stdout, /not running/, status.stdout);
  assert.match(status.stdout, /teleport/);

  // a third demo in the same directory while this one runs: refused, this one's spool untouched
  const third = spawnSync(cliCommand[0]!, [...cliCommand.slice(1), 'demo', '--dir', dir, ...small], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(third.status, 2, third.stdout + third.stderr);
  assert.match(third.stderr, /storage is in use \(is a `demo --dir .* --follow` still running\?\)/);
  const still = spawnSync(statusCmd[0]!, statusCmd.slice(1), { cwd: repoRoot, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(still.status, 0, still.stdout + still.stderr);

  live.kill('SIGINT');
  assert.equal(await exited, 0, out);
  assert.match(out, /^stopped\.$/m);
});

test('demo refuses a --dir holding a config it did not write', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-demo-foreign-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'forwarder.toml'), 'storage = "/var/lib/important"\n');
  const r = spawnSync(cliCommand[0]!, [...cliCommand.slice(1), 'demo', '--dir', dir, ...small], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /forwarder\.toml was not written by the demo: give --dir a new directory/);
});
