// backfill and cursor through the real cli, against the fake Auth Service and the local intake: with the service
// stopped the command runs the job itself (and a kill -9 mid-job, then the same command again, loses nothing and
// sends nothing twice); with it running, the job is submitted through its admin API and runs beside the live
// poller; a range the live poller shipped is refused; cancel; cursor show and set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeIntake } from '../../src/fakes/intake.js';
import { generatedDataset, type FakeDataset, type FakeTeleport } from '../../src/fakes/teleport.js';
import { formatIdentityFile } from '../../src/sources/teleport/identity.js';
import { runForwarder, waitFor } from '../helpers/forwarder.js';
import { awayFromUtcMidnight } from '../helpers/clock.js';
import { cliCommand } from '../helpers/paths.js';
import { pollerEnv } from '../helpers/poller-env.js';

await awayFromUtcMidnight();

const API_KEY = 'back0123456789abcdef0123456789abc';
const DAY = 86_400_000;
const today = Date.parse(new Date().toISOString().slice(0, 10));
const iso = (ms: number) => new Date(ms).toISOString();

/** four dates ending today, with recordings */
const dataset = (): FakeDataset =>
  generatedDataset({
    dates: { start: new Date(today - 3 * DAY), days: 4 },
    eventsPerDate: 400,
    chunksPerDate: 3,
    sessions: { count: 6, eventsPerSession: 30 },
    seed: 5,
  });

function config(dir: string, fake: FakeTeleport, startTime: number): string {
  const client = fake.issueClientCert({ user: 'bot-datadog', ttlHours: 24 });
  writeFileSync(join(dir, 'identity'), formatIdentityFile({ key: client.key, cert: client.cert, cas: [fake.ca] }), {
    mode: 0o600,
  });
  const file = join(dir, 'forwarder.toml');
  writeFileSync(
    file,
    `storage = "${join(dir, 'storage')}"
start-time = "${iso(startTime)}"
poll-interval = "200ms"

[ingest]
enabled = false

[teleport]
addr = "${fake.address}"
identity = "${join(dir, 'identity')}"
`,
  );
  return file;
}

/** a cli command to its end: exit code, stdout, stderr */
function cli(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; out: string; err: string }>((resolve) => {
    const p = spawn(cliCommand[0]!, [...cliCommand.slice(1), ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TDF_ADMIN_PORT: '0', DD_API_KEY: API_KEY, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    p.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    p.on('exit', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

/** audit event uids of the dataset inside [from, to) */
function idsIn(ds: FakeDataset, from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < ds.events.length; i++) {
    const t = ds.events.timeAt(i);
    if (t >= from && t < to) out.push(String(ds.events.eventAt(i).json.uid));
  }
  return out;
}

/** each wanted uid arrived once among the audit logs `pick` selects, and no other audit event of the dataset */
function assertOnce(
  intake: FakeIntake,
  ds: FakeDataset,
  pick: (l: Record<string, any>) => boolean,
  want: string[],
  what: string,
) {
  const audit = new Set(idsIn(ds, 0, Infinity));
  // recording events (tagged session.<sid>.log) are checked apart
  const got = intake.logs
    .filter((l: any) => audit.has(l.uid) && !String(l.tag).startsWith('session.') && pick(l))
    .map((l: any) => l.uid);
  const counts = new Map<string, number>();
  for (const k of got) counts.set(k, (counts.get(k) ?? 0) + 1);
  const wanted = new Set(want);
  const missing = want.filter((k) => !counts.has(k)).length;
  const dups = [...counts.values()].filter((n) => n > 1).length;
  const extra = got.filter((k) => !wanted.has(k)).length;
  assert.deepEqual({ missing, dups, extra }, { missing: 0, dups: 0, extra: 0 }, what);
}

const adminPort = (text: string): number | undefined => {
  for (const line of text.split('\n')) {
    if (!line.includes('admin server listening')) continue;
    return (JSON.parse(line) as { port: number }).port;
  }
  return undefined;
};

test('service stopped: backfill runs the job itself; kill -9 mid-job, the same command resumes it: each event once', async (t) => {
  const ds = dataset();
  const { dir, fake, intake } = await pollerEnv(t, ds, API_KEY);
  const file = config(dir, fake, today);
  const from = today - 3 * DAY + 7 * 3600_000;
  const to = today - DAY + 13 * 3600_000;
  const args = ['backfill', '--config', file, '--from', iso(from), '--to', iso(to), '--datadog-url', intake.url];
  // nothing there yet: ls and cursor show say so and create no storage
  for (const args of [
    ['backfill', 'ls'],
    ['cursor', 'show'],
  ]) {
    const none = await cli([...args, '--config', file]);
    assert.equal(none.code, 2, none.out);
    assert.match(none.err, /there is no spool in .*storage and no forwarder answers/);
  }
  assert.equal(existsSync(join(dir, 'storage')), false);
  // intake down in the first run: every duplicate could only come from the job's hand-off
  await intake.setDown(true);
  fake.faults.slowStreamMs = 2;
  const first = await runForwarder(
    [...args, '--datadog-retry-initial', '50ms'],
    { DD_API_KEY: API_KEY },
    { waitForIngest: false },
  );
  let port: number | undefined;
  await waitFor(() => (port = adminPort(first.stderr())) !== undefined, 'the admin server');
  let id = '';
  await waitFor(async () => {
    const res = await fetch(`http://127.0.0.1:${port}/backfill`);
    if (!res.ok) return false; // still starting
    const jobs = ((await res.json()) as any).jobs;
    id = jobs[0]?.id ?? '';
    return (jobs[0]?.events ?? 0) >= 200;
  }, 'part of the range handed off');
  first.proc.kill('SIGKILL');
  await first.exited;
  assert.match(first.logs.map((l) => l.msg).join('\n'), new RegExp(`job ${id} started`));

  fake.faults.slowStreamMs = 0;
  await intake.setDown(false);
  const ls = await cli(['backfill', 'ls', '--config', file]);
  assert.equal(ls.code, 0, ls.err);
  assert.match(ls.out, new RegExp(`${id}  running`));
  const second = await cli(args);
  assert.equal(second.code, 0, second.err);
  assert.match(second.out, new RegExp(`resuming job ${id}`));
  assert.match(second.out, new RegExp(`job ${id} done: \\d+ events`));
  assertOnce(intake, ds, () => true, idsIn(ds, from, to), 'the range across kill -9');
  assert.ok(
    intake.logs.every((l: any) => l.backfill_job === id),
    'every record names the job',
  );
  // the live poller never ran: the job shipped no recording (no --sessions) and the storage has no live cursor
  const cursor = await cli(['cursor', 'show', '--config', file]);
  assert.match(cursor.out, /start time: not stored yet/);
});

test('service running: the job goes through the admin API beside the live poller; overlap refused; cancel; status', async (t) => {
  const ds = dataset();
  const { dir, fake, intake } = await pollerEnv(t, ds, API_KEY);
  const liveStart = today - DAY;
  const file = config(dir, fake, liveStart);
  const fw = await runForwarder(
    ['start', '--config', file, '--datadog-url', intake.url],
    { DD_API_KEY: API_KEY },
    {
      waitForIngest: false,
    },
  );
  t.after(() => fw.stop());
  const admin = await fw.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('admin server listening'));
  const url = `http://127.0.0.1:${admin.port}`;
  await waitFor(
    async () => ((await (await fetch(`${url}/status`)).json()) as any).teleport?.caughtUp === true,
    'live caught up',
  );

  // a range inside what the live poller shipped: refused, nothing started
  const inside = await cli([
    'backfill',
    '--config',
    file,
    '--url',
    url,
    '--from',
    iso(liveStart + 3600_000),
    '--to',
    iso(liveStart + 7200_000),
  ]);
  assert.equal(inside.code, 2, inside.out + inside.err);
  assert.match(inside.err, /shipped by the live poller already.*--allow-duplicates/);

  // last week up to now, with recordings: clipped at the live start, said before it starts
  const from = today - 3 * DAY;
  const run = await cli(['backfill', '--config', file, '--url', url, '--from', iso(from), '--sessions']);
  assert.equal(run.code, 0, run.out + run.err);
  assert.match(run.out, new RegExp(`clipped at ${iso(liveStart).replace(/\./g, '\\.')}`));
  const id = /job (bf-\S+) started/.exec(run.out)![1]!;
  assert.match(run.out, /submitted to the running forwarder/);
  assert.match(run.out, new RegExp(`job ${id} done`));
  await waitFor(async () => ((await (await fetch(`${url}/status`)).json()) as any).spool.records === 0, 'delivered');
  assertOnce(intake, ds, (l) => l.backfill_job === id, idsIn(ds, from, liveStart), 'the job');
  assertOnce(intake, ds, (l) => l.backfill_job === undefined, idsIn(ds, liveStart, Infinity), 'the live poller');
  // the recordings of the sessions uploaded in the range came with the job
  const uploads: string[] = [];
  for (let i = 0; i < ds.events.length; i++) {
    const e = ds.events.eventAt(i);
    if (e.type === 'session.upload' && e.timeMs >= from && e.timeMs < liveStart) uploads.push(String(e.json.sid));
  }
  assert.ok(uploads.length > 0);
  const sessionTags = new Set(
    intake.logs
      .filter((l: any) => l.backfill_job === id && String(l.tag).startsWith('session.'))
      .map((l: any) => l.tag),
  );
  assert.deepEqual([...sessionTags].sort(), uploads.map((s) => `session.${s}.log`).sort());

  // a slow job, detached, then cancelled through the cli
  fake.faults.slowStreamMs = 20;
  const slow = await cli([
    'backfill',
    '--config',
    file,
    '--url',
    url,
    '--from',
    iso(from),
    '--allow-duplicates',
    '--detach',
  ]);
  assert.equal(slow.code, 0, slow.err);
  const slowId = /job (bf-\S+) started/.exec(slow.out)![1]!;
  const cancel = await cli(['backfill', 'cancel', slowId, '--config', file, '--url', url]);
  assert.equal(cancel.code, 0, cancel.err);
  assert.match(cancel.out, new RegExp(`cancelled ${slowId}`));
  fake.faults.slowStreamMs = 0;

  const status = await cli(['status', '--config', file, '--url', url]);
  assert.match(status.out, /backfill jobs:/);
  assert.match(status.out, new RegExp(`${id}  done .* 100%`));
  assert.match(status.out, new RegExp(`${slowId}  cancelled`));
  const ls = await cli(['backfill', 'ls', '--config', file, '--url', url]);
  assert.match(ls.out, new RegExp(`${id}  done`));

  // the live cursor through the admin API; set refuses without a terminal or --yes
  const show = await cli(['cursor', 'show', '--config', file, '--url', url]);
  assert.equal(show.code, 0, show.err);
  assert.match(show.out, new RegExp(`start time: ${iso(liveStart).replace(/\./g, '\\.')}`));
  const refused = await cli(['cursor', 'set', '--start-time', '2d', '--config', file, '--url', url]);
  assert.equal(refused.code, 2);
  assert.match(refused.out, /sent twice/);
  assert.match(refused.err, /add --yes/);

  // with --yes: the running forwarder restarts its live poller from the moved start, a day further back
  const back = liveStart - DAY;
  const set = await cli(['cursor', 'set', '--start-time', iso(back), '--yes', '--config', file, '--url', url]);
  assert.equal(set.code, 0, set.err);
  assert.match(set.out, /cursor moved/);
  const want = idsIn(ds, back, liveStart);
  await waitFor(() => {
    const live = new Set(intake.logs.filter((l: any) => l.backfill_job === undefined).map((l: any) => l.uid));
    return want.every((u) => live.has(u));
  }, 'the live poller reading from the moved start');
  const shown = await cli(['cursor', 'show', '--config', file, '--url', url]);
  assert.match(shown.out, new RegExp(`start time: ${iso(back).replace(/\./g, '\\.')}`));
});

test('cursor set --yes with the service stopped: the next start reads from the new start time', async (t) => {
  const ds = dataset();
  const { dir, fake, intake } = await pollerEnv(t, ds, API_KEY);
  const first = today - DAY;
  const file = config(dir, fake, first);
  const start = () => cli(['start', '--config', file, '--datadog-url', intake.url, '--exit-on-last-event']);
  assert.equal((await start()).code, 0);
  assertOnce(intake, ds, () => true, idsIn(ds, first, Infinity), 'first run');
  // back a day: that day is new, the rest is sent again (said before)
  const moved = today - 2 * DAY;
  const set = await cli(['cursor', 'set', '--start-time', iso(moved), '--yes', '--config', file]);
  assert.equal(set.code, 0, set.err);
  assert.match(set.out, /sent twice/);
  assert.match(set.out, /cursor moved/);
  intake.logs.length = 0;
  const again = await start();
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /start-time was moved by `cursor set`/);
  assertOnce(intake, ds, () => true, idsIn(ds, moved, Infinity), 'from the moved start');
});
