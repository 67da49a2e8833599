// backfill jobs against the fake auth service and a real spool on disk: a range ships each of its events once and
// nothing outside it (export and legacy), with the job id on every record; recordings uploaded in the range; a
// stop mid-job then a resume; a job beside the live poller; cancel; overlap with the live poller.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { generatedDataset, type FakeDataset } from '../../src/fakes/teleport.js';
import { createBackfillManager, type BackfillRequest } from '../../src/backfill/manager.js';
import { JOB_ATTRIBUTE, cursorPrefix } from '../../src/backfill/jobs.js';
import { K } from '../../src/sources/teleport/state.js';
import { ConfigError } from '../../src/errors.js';
import type { SourceRecord } from '../../src/record.js';
import {
  DAY,
  assertExactlyOnce,
  auditIds,
  drain,
  sessionKeys,
  spoolDeps,
  today,
  trackedEnvs,
  within,
  until,
  type Env,
} from '../sources/teleport/harness.js';

const envFor = trackedEnvs(after);

/** four dates ending yesterday, several chunks a date, recordings */
const dataset = (sessions = { count: 0, eventsPerSession: 0 }): FakeDataset =>
  generatedDataset({
    dates: { start: new Date(today - 4 * DAY), days: 4 },
    eventsPerDate: 300,
    chunksPerDate: 4,
    sessions,
    seed: 21,
  });

/** audit event ids of the dataset inside [from, to) */
function idsIn(ds: FakeDataset, from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < ds.events.length; i++) {
    const t = ds.events.timeAt(i);
    if (t >= from && t < to) out.push(ds.events.eventAt(i).id);
  }
  return out;
}

function manager(env: Env, giveUp = true) {
  const deps = spoolDeps(env.spool, env.logs.logger);
  return createBackfillManager({ teleport: env.options({ startTime: undefined }), giveUp }, deps);
}

const req = (from: number, to: number, extra: Partial<BackfillRequest> = {}): BackfillRequest => ({
  from,
  to,
  types: [],
  skipEventTypes: [],
  sessions: false,
  allowDuplicates: false,
  ...extra,
});

// from mid-morning of the second date to the afternoon of the third: chunks straddle both ends
const from = today - 3 * DAY + 9 * 3600_000 + 17_000;
const to = today - 2 * DAY + 15 * 3600_000 + 3_000;

async function runToEnd(env: Env, r: BackfillRequest): Promise<{ records: SourceRecord[]; id: string }> {
  const m = manager(env);
  const { job } = await m.submit(r);
  await within(m.idle(), 60_000, 'the job');
  const [done] = (await m.list()).filter((j) => j.id === job.id);
  assert.equal(done!.state, 'done', done!.lastError ?? '');
  await m.stop();
  return { records: await drain(env.spool), id: job.id };
}

test('a range (export): each event in it once, nothing outside, the job id on every record', async () => {
  const ds = dataset();
  const env = await envFor({ dataset: ds });
  const want = idsIn(ds, from, to);
  assert.ok(want.length > 200, `the range holds events (${want.length})`);
  const { records, id } = await runToEnd(env, req(from, to));
  assertExactlyOnce(auditIds(records), want, 'backfilled range');
  assert.ok(records.every((r) => r.record[JOB_ATTRIBUTE] === id));
  assert.ok(env.fake.calls.ExportUnstructuredEvents!.count > 0, 'the bulk export was used');
  // the job's cursors are dropped at its end; the live poller's keys were never written
  assert.deepEqual(await env.spool.listState(cursorPrefix(id)), []);
  assert.deepEqual(await env.spool.listState(K.chunksPrefix), []);
  assert.equal(await env.spool.getState(K.startTime), undefined);
  const jobs = await manager(env).list();
  assert.equal(jobs[0]!.events, want.length, 'the job counts what it shipped');
  assert.equal(jobs[0]!.progress, 1);
});

test('a range (legacy search on an older auth service): each event in it once, nothing outside', async () => {
  const ds = dataset();
  const env = await envFor({ dataset: ds });
  env.fake.faults.unimplementedExport = true;
  const { records } = await runToEnd(env, req(from, to));
  assertExactlyOnce(auditIds(records), idsIn(ds, from, to), 'backfilled range (legacy)');
  assert.ok(env.fake.calls.GetUnstructuredEvents!.count > 0, 'the legacy search was used');
});

test('--types and --skip-event-types select within the range', async () => {
  const ds = dataset();
  const env = await envFor({ dataset: ds });
  const { records } = await runToEnd(env, req(from, to, { skipEventTypes: ['session.start'] }));
  const want: string[] = [];
  for (let i = 0; i < ds.events.length; i++) {
    const t = ds.events.timeAt(i);
    if (t >= from && t < to && ds.events.typeAt(i) !== 'session.start') want.push(ds.events.eventAt(i).id);
  }
  assertExactlyOnce(auditIds(records), want, 'filtered range');
});

test('--sessions: the recordings of sessions uploaded in the range, and no others', async () => {
  const ds = dataset({ count: 8, eventsPerSession: 40 });
  const env = await envFor({ dataset: ds });
  const uploads = new Map<string, number>();
  for (let i = 0; i < ds.events.length; i++) {
    const e = ds.events.eventAt(i);
    if (e.type === 'session.upload') uploads.set(String(e.json.sid), e.timeMs);
  }
  const inRange = [...uploads].filter(([, t]) => t >= from && t < to).map(([sid]) => sid);
  assert.ok(inRange.length > 0 && inRange.length < uploads.size, `some uploads in range (${inRange.length})`);
  const want: string[] = [];
  for (const sid of inRange) {
    const run = ds.recording(sid)!;
    for (let i = 0; i < run.length; i++)
      if (run.eventAt(i).type !== 'print') want.push(`${sid}#${run.eventAt(i).index}`);
  }
  const { records, id } = await runToEnd(env, req(from, to, { sessions: true }));
  assertExactlyOnce(sessionKeys(records), want, 'recordings in range');
  assert.ok(records.every((r) => r.record[JOB_ATTRIBUTE] === id));
  // without --sessions, none
  const env2 = await envFor({ dataset: ds });
  const plain = await runToEnd(env2, req(from, to));
  assert.equal(sessionKeys(plain.records).length, 0);
});

test('stopped mid-job, then resumed: nothing lost, nothing twice', async () => {
  const ds = dataset();
  const env = await envFor({ dataset: ds });
  env.fake.faults.slowStreamMs = 2;
  const m1 = manager(env);
  const { job } = await m1.submit(req(from, to));
  await until(async () => (await m1.list())[0]!.events >= 100, 30_000, 'part of the range shipped');
  await m1.stop();
  const before = await drain(env.spool);
  assert.ok(before.length < idsIn(ds, from, to).length, 'stopped mid-way');
  assert.equal((await m1.list())[0]!.state, 'running', 'still to resume');
  env.fake.faults.slowStreamMs = 0;
  // a new process: the job resumes from its cursors
  await env.reopenSpool();
  const m2 = manager(env);
  assert.equal(await m2.resume(), 1);
  await within(m2.idle(), 60_000, 'the resumed job');
  const rest = await drain(env.spool);
  assertExactlyOnce(auditIds([...before, ...rest]), idsIn(ds, from, to), 'across the stop');
  const [j] = await m2.list();
  assert.equal(j!.id, job.id);
  assert.equal(j!.state, 'done');
  await m2.stop();
});

test('asking for the same range again resumes the unfinished job instead of starting over', async () => {
  const ds = dataset();
  const env = await envFor({ dataset: ds });
  env.fake.faults.slowStreamMs = 2;
  const m1 = manager(env);
  const first = await m1.submit(req(from, to));
  await until(async () => (await m1.list())[0]!.events >= 50, 30_000, 'part shipped');
  await m1.stop();
  env.fake.faults.slowStreamMs = 0;
  const m2 = manager(env);
  const again = await m2.submit(req(from, to));
  assert.equal(again.plan.resumes, first.job.id);
  assert.equal(again.job.id, first.job.id);
  await within(m2.idle(), 60_000, 'the job');
  assertExactlyOnce(auditIds(await drain(env.spool)), idsIn(ds, from, to), 'resumed by asking again');
  await m2.stop();
});

test('a job beside the live poller: each ships its own part once, the live cursor untouched by the job', async () => {
  const ds = dataset();
  const env = await envFor({ dataset: ds });
  const liveStart = today - 2 * DAY;
  const live = env.source({ startTime: new Date(liveStart), exitOnLastEvent: false });
  await live.start();
  const m = manager(env, false);
  const { job, plan } = await m.submit(req(today - 4 * DAY, today - DAY));
  // the part the live poller ships was clipped off
  assert.equal(plan.overlap.kind, 'clipped');
  assert.equal(job.to, liveStart);
  assert.ok(job.clipped && job.clipped.from === liveStart);
  await within(m.idle(), 60_000, 'the job');
  await until(() => live.status().caughtUp, 60_000, 'the live poller caught up');
  await live.stop();
  await m.stop();
  const records = await drain(env.spool);
  const jobRecords = records.filter((r) => r.record[JOB_ATTRIBUTE] === job.id);
  const liveRecords = records.filter((r) => r.record[JOB_ATTRIBUTE] === undefined);
  assertExactlyOnce(auditIds(jobRecords), idsIn(ds, today - 4 * DAY, liveStart), 'the job');
  assertExactlyOnce(auditIds(liveRecords), idsIn(ds, liveStart, Date.now()), 'the live poller');
  assert.equal(await env.spool.getState(K.startTime), new Date(liveStart).toISOString());
  assert.ok((await env.spool.getState(K.exportDate)) !== undefined, 'the live export cursor is its own');
});

test('overlap: a range the live poller shipped whole is refused, unless --allow-duplicates', async () => {
  const ds = dataset();
  const env = await envFor({ dataset: ds });
  const liveStart = today - 3 * DAY;
  await env.spool.putState([{ type: 'put', key: K.startTime, value: new Date(liveStart).toISOString() }]);
  const m = manager(env);
  await assert.rejects(
    m.submit(req(liveStart + 3600_000, liveStart + 5 * 3600_000)),
    (e: unknown) =>
      e instanceof ConfigError && /shipped by the live poller/.test(e.message) && /--allow-duplicates/.test(e.message),
  );
  assert.deepEqual(await m.list(), [], 'no job made');
  const { job, plan } = await m.submit(req(liveStart + 3600_000, liveStart + 5 * 3600_000, { allowDuplicates: true }));
  assert.match(plan.message, /sent again/);
  await within(m.idle(), 60_000, 'the job');
  assertExactlyOnce(
    auditIds(await drain(env.spool)),
    idsIn(ds, liveStart + 3600_000, liveStart + 5 * 3600_000),
    'duplicates allowed',
  );
  assert.equal((await m.list())[0]!.id, job.id);
  await m.stop();
});

test('cancel: the job stops, its cursors go, nothing more is shipped', async () => {
  const ds = dataset();
  const env = await envFor({ dataset: ds });
  env.fake.faults.slowStreamMs = 3;
  const m = manager(env);
  const { job } = await m.submit(req(from, to));
  await until(async () => (await m.list())[0]!.events >= 50, 30_000, 'part shipped');
  const cancelled = await m.cancel(job.id);
  assert.equal(cancelled.state, 'cancelled');
  const queued = env.spool.stats().records;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(env.spool.stats().records, queued, 'nothing after the cancel');
  assert.ok(queued < idsIn(ds, from, to).length);
  assert.deepEqual(await env.spool.listState(cursorPrefix(job.id)), []);
  await assert.rejects(m.cancel(job.id), /cancelled already/);
  assert.equal(await m.resume(), 0, 'a cancelled job does not resume');
  await m.stop();
});
