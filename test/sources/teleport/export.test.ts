// the poller against the fake auth service over mTLS, with the real spool on disk: cursor-v2 export across
// dates and chunks, restarts, faults, the legacy fallback, filters, start time, dry run, a full spool.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ConfigError } from '../../../src/errors.js';
import { generatedDataset } from '../../../src/fakes/teleport.js';
import { K } from '../../../src/sources/teleport/state.js';
import type { SourceRecord } from '../../../src/record.js';
import type { StateOp } from '../../../src/spool/types.js';
import { createTeleportSource } from '../../../src/sources/teleport/source.js';
import {
  DAY,
  assertExactlyOnce,
  auditIds,
  bigDataset,
  datasetIds,
  drain,
  recordingKeys,
  sessionKeys,
  spoolDeps,
  today,
  trackedEnvs,
  until,
  within,
} from './harness.js';

const env = trackedEnvs(after);

test('every event is shipped exactly once across dates and chunks, recordings too, with version metadata', async () => {
  const e = await env({ dataset: bigDataset() });
  const source = e.source({ apiVersion: '17.1.0' });
  await source.start();
  await within(source.done, 15_000, 'export');
  const st = source.status();
  await source.stop();
  const records = await drain(e.spool);
  assertExactlyOnce(auditIds(records), datasetIds(e.fake.dataset), 'audit events');
  assertExactlyOnce(sessionKeys(records), recordingKeys(e.fake.dataset), 'session events');
  for (const r of records) assert.ok(Number.isFinite(r.time) && r.time > 0);
  const first = records.find((r) => r.tag === 'events.log')!;
  assert.equal(first.time, Date.parse(String(first.record.time)));
  assert.equal(st.mode, 'export');
  assert.equal(st.caughtUp, true);
  assert.equal(st.eventsEmitted, e.fake.dataset.events.length);
  // chunks of the earliest dates were dropped from state as the date moved on; no session left pending
  assert.deepEqual(await e.spool.listState(K.sessionPrefix), []);
  assert.equal(await e.spool.getState(K.exportDate), new Date(today).toISOString().slice(0, 10));
  const calls = e.fake.calls.ExportUnstructuredEvents!;
  assert.ok(calls.recent.every((c) => c.version === '17.1.0' && c.user === 'bot-datadog'));
  assert.ok(e.fake.calls.GetEventExportChunks!.count >= 5);
});

test('restart mid-export: stop, reopen the spool, start again: no loss, no duplicate', async () => {
  const e = await env({
    dataset: generatedDataset({
      dates: { start: new Date(today - 3 * DAY), days: 3 },
      eventsPerDate: 400,
      chunksPerDate: 2,
      sessions: { count: 3, eventsPerSession: 60 },
      seed: 8,
    }),
  });
  e.fake.faults.slowStreamMs = 2;
  let emitted = 0;
  let first = e.source({}, { after: (r) => void (emitted += r.length) });
  await first.start();
  await until(() => emitted >= 100, 15_000, 'first run progress');
  await first.stop();
  const before = await drain(e.spool);
  assert.ok(before.length >= 100 && before.length < e.fake.dataset.events.length, `stopped mid-way (${before.length})`);
  const chunkStates = await e.spool.listState('teleport/export/chunk/');
  assert.ok(
    chunkStates.some((s) => JSON.parse(s.value).c),
    'a chunk cursor was saved mid-chunk: ' + JSON.stringify(chunkStates) + emitted,
  );

  await e.reopenSpool();
  e.fake.faults.slowStreamMs = 0;
  first = e.source();
  await first.start();
  await within(first.done, 15_000, 'second run');
  await first.stop();
  const rest = await drain(e.spool);
  const all = [...before, ...rest];
  assertExactlyOnce(auditIds(all), datasetIds(e.fake.dataset), 'audit events over two runs');
  assertExactlyOnce(sessionKeys(all), recordingKeys(e.fake.dataset), 'session events over two runs');
  // the cursor resumed mid-chunk
  assert.ok(e.fake.calls.ExportUnstructuredEvents!.recent.some((c) => (c.request as { cursor: string }).cursor !== ''));
});

test('UNIMPLEMENTED export falls back to the legacy search; a restart mid-way stays exactly once', async () => {
  const e = await env({ dataset: bigDataset() });
  e.fake.faults.unimplementedExport = true;
  let emitted = 0;
  const opts = { batch: 37, windowSizeMs: 7 * 3600_000, types: [] };
  let source = e.source(opts, { after: (r) => void (emitted += r.length) });
  await source.start();
  await until(() => emitted >= 300, 15_000, 'legacy progress');
  await source.stop();
  assert.equal(source.status().mode, 'legacy');
  const before = await drain(e.spool);
  const st = JSON.parse((await e.spool.getState(K.legacy))!);
  assert.ok(st.w >= e.options().startTime!.getTime());
  source = e.source(opts);
  await source.start();
  await within(source.done, 15_000, 'legacy export');
  await source.stop();
  const all = [...before, ...(await drain(e.spool))];
  assertExactlyOnce(auditIds(all), datasetIds(e.fake.dataset), 'audit events (legacy)');
  assertExactlyOnce(sessionKeys(all), recordingKeys(e.fake.dataset), 'session events (legacy)');
  const req = e.fake.calls.GetUnstructuredEvents!.last!.request as { namespace: string; limit: number; order: unknown };
  assert.equal(req.namespace, 'default');
  assert.equal(req.limit, 37);
  assert.ok(req.order === 1 || req.order === 'ORDER_ASCENDING');
});

test('skip-event-types and skip-session-types are applied; skipped events still move the cursor', async () => {
  const e = await env({ dataset: bigDataset() });
  const skip = { skipEventTypes: ['session.start', 'user.login'], skipSessionTypes: ['print', 'resize'] };
  let source = e.source(skip);
  await source.start();
  await within(source.done, 15_000, 'export');
  await source.stop();
  const records = await drain(e.spool);
  assertExactlyOnce(
    auditIds(records),
    datasetIds(e.fake.dataset, (t) => !skip.skipEventTypes.includes(t)),
    'audit events',
  );
  assertExactlyOnce(sessionKeys(records), recordingKeys(e.fake.dataset, skip.skipSessionTypes), 'session events');
  assert.ok(
    !records.some(
      (r) =>
        ['print', 'resize', 'session.start', 'user.login'].includes(String(r.record.event)) && r.tag === 'events.log',
    ),
  );
  // run again: everything, skipped or not, is behind the cursor
  source = e.source(skip);
  await source.start();
  await within(source.done, 15_000, 'second run');
  await source.stop();
  assert.equal((await drain(e.spool)).length, 0);
});

test('a different start time later is an error that says how to move the cursor; the same one is fine', async () => {
  const e = await env({
    dataset: generatedDataset({
      dates: [new Date(today - DAY).toISOString().slice(0, 10)],
      eventsPerDate: 20,
      chunksPerDate: 2,
    }),
  });
  // mid-day: the chunks hold the whole date, the events before the start time are not shipped
  const start = new Date(today - DAY / 2);
  let source = e.source({ startTime: start });
  await source.start();
  await within(source.done, 10_000, 'first run');
  await source.stop();
  assert.equal(await e.spool.getState(K.startTime), start.toISOString());
  const ds = e.fake.dataset.events;
  const after = Array.from({ length: ds.length }, (_, i) => ds.eventAt(i)).filter((x) => x.timeMs >= start.getTime());
  assert.ok(after.length > 0 && after.length < ds.length);
  assert.deepEqual(auditIds(await drain(e.spool)).sort(), after.map((x) => x.id).sort());
  source = e.source({ startTime: new Date(today - 3 * DAY) });
  await assert.rejects(
    source.start(),
    (err: unknown) =>
      err instanceof ConfigError &&
      /cursor set --start-time/.test(err.message) &&
      err.message.includes(start.toISOString()),
  );
  await source.stop();
  source = e.source({ startTime: undefined });
  await source.start();
  await within(source.done, 10_000, 'run without start time uses the stored one');
  await source.stop();
  assert.equal((await drain(e.spool)).length, 0);
});

test('dry run routes every record once through the pipeline and writes nothing to the spool', async () => {
  const e = await env({ dataset: bigDataset() });
  // the app's dry run: the real pipeline routes and logs each batch, and keeps the cursors in memory
  const emitted: SourceRecord[] = [];
  const stateWrites: StateOp[][] = [];
  const source = createTeleportSource(e.options(), {
    ...spoolDeps(e.spool, e.logs.logger, {
      dryRun: true,
      after: (records, state) => {
        emitted.push(...records);
        if (state.length > 0) stateWrites.push(state);
      },
    }),
  });
  await source.start();
  await within(source.done, 15_000, 'dry run');
  await source.stop();
  assert.ok(stateWrites.length > 0, 'the cursors move forward (in memory), so nothing is read twice');
  assert.equal(e.spool.stats().records, 0);
  assert.deepEqual(await e.spool.listState('teleport/'), []);
  assertExactlyOnce(auditIds(emitted), datasetIds(e.fake.dataset), 'audit events');
  assertExactlyOnce(sessionKeys(emitted), recordingKeys(e.fake.dataset), 'session events');
  assert.ok(e.logs.has(/dry run: would ship/), 'the pipeline logs what would be shipped, after routing');
});

test('caught up on today, late chunks of the two previous dates are still read, once; three dates back is not polled', async () => {
  const e = await env({
    dataset: generatedDataset({
      dates: { start: new Date(today - 4 * DAY), days: 4 },
      eventsPerDate: 30,
      chunksPerDate: 2,
      seed: 12,
    }),
  });
  const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const shipped: string[] = [];
  const source = e.source(
    { exitOnLastEvent: false, pollIntervalMs: 50 },
    { after: (r) => void shipped.push(...auditIds(r)) },
  );
  await source.start();
  await until(() => source.status().caughtUp && source.status().date === isoDay(today), 15_000, 'caught up on today');

  // teleport adds chunks to past dates late; the fake puts events added now in new chunks of their dates
  const login = (t: number) => ({
    event: 'user.login',
    code: 'T1000I',
    success: true,
    user: 'late',
    method: 'local',
    uid: randomUUID(),
    time: new Date(t).toISOString(),
  });
  const late = [login(today - DAY + 3600_000), login(today - 2 * DAY + 3600_000)];
  // after the start time, so only the polled window keeps it out
  const tooOld = login(today - 3 * DAY + 3600_000);
  const addedAt = Date.now();
  assert.equal(e.fake.addEvents(late).length, 2);
  const [oldChunk] = e.fake.addEvents([tooOld]);
  await until(
    () => late.every((x) => shipped.includes(x.uid)),
    15_000,
    'late events of yesterday and the day before shipped',
  );
  // three more full rounds (three dates each): a late chunk read again, or the old one read late, would show
  const listed = e.fake.calls.GetEventExportChunks!.count;
  await until(() => e.fake.calls.GetEventExportChunks!.count >= listed + 9, 15_000, 'more polling rounds');
  await source.stop();

  const records = await drain(e.spool);
  assertExactlyOnce(
    auditIds(records),
    [...datasetIds(e.fake.dataset), ...late.map((x) => x.uid)],
    'audit events with the late ones',
  );
  // the rule: each round lists the export date (today once caught up) and the two dates before it; a chunk that
  // appears on an older date after the export moved past it is never read (the saved date only moves forward)
  assert.ok(!records.some((r) => r.record.uid === tooOld.uid), 'an event added three dates back is not shipped');
  assert.ok(
    !e.fake.calls.ExportUnstructuredEvents!.recent.some((c) => (c.request as { chunk: string }).chunk === oldChunk),
  );
  const polled = new Set(
    e.fake.calls
      .GetEventExportChunks!.recent.filter((c) => c.at >= addedAt)
      .map((c) => isoDay(Number((c.request as { date: { seconds: string } }).date.seconds) * 1000)),
  );
  assert.deepEqual([...polled].sort(), [isoDay(today - 2 * DAY), isoDay(today - DAY), isoDay(today)]);
});
