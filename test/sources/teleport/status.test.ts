// the poller's status (pure): progress folded into the counters, and the view /status gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  QUIET_LISTED,
  foldExportProgress,
  foldSessionProgress,
  initialStatus,
  statusView,
  type ExportProgress,
  type TeleportSourceStatus,
} from '../../../src/sources/teleport/status.js';
import type { SessionProgress } from '../../../src/sources/teleport/recording.js';

const stuck = [{ date: '2026-12-01', chunk: 'c1', failures: 5, since: 1, lastError: 'INTERNAL' }];

test('export progress: each report moves the counters it names, at the time it was reported', () => {
  const cases: Array<{
    name: string;
    before?: Partial<TeleportSourceStatus>;
    p: ExportProgress[];
    want: Partial<TeleportSourceStatus>;
  }> = [
    {
      name: 'mode and date',
      p: [{ mode: 'export', date: '2026-12-01' }],
      want: { mode: 'export', date: '2026-12-01' },
    },
    {
      name: 'events add up; the newest event time wins; shipping is a success',
      p: [
        { emitted: 3, lastEventTime: 500 },
        { emitted: 2, lastEventTime: 400 },
      ],
      want: { eventsEmitted: 5, lastEventTime: 500, lastSuccessAt: 1000 },
    },
    {
      name: 'a failure sets the error, ends caught up, starts failingSince once',
      before: { caughtUp: true, failingSince: 10 },
      p: [{ error: 'UNAVAILABLE: down' }],
      want: { lastError: 'UNAVAILABLE: down', caughtUp: false, failingSince: 10, lastSuccessAt: null },
    },
    {
      name: 'a first failure starts failingSince now',
      p: [{ error: 'UNAVAILABLE: down' }],
      want: { failingSince: 1000 },
    },
    {
      name: 'error: undefined is a success: clears the error and failingSince',
      before: { lastError: 'x', failingSince: 10 },
      p: [{ error: undefined }],
      want: { lastError: null, failingSince: null, lastSuccessAt: 1000 },
    },
    {
      name: 'a report without error leaves the error alone',
      before: { lastError: 'x', failingSince: 10 },
      p: [{ date: '2026-12-02', caughtUp: true }],
      want: { lastError: 'x', failingSince: 10, caughtUp: true, lastSuccessAt: null },
    },
    {
      name: 'stuck chunks replace the list',
      before: { stuckChunks: [] },
      p: [{ stuck }],
      want: { stuckChunks: stuck },
    },
  ];
  for (const c of cases) {
    const st = { ...initialStatus(), ...c.before };
    for (const p of c.p) foldExportProgress(st, p, 1000);
    for (const [k, v] of Object.entries(c.want))
      assert.deepEqual(st[k as keyof TeleportSourceStatus], v, `${c.name}: ${k}`);
  }
});

test('session progress: counts add up; an error is kept until the next one', () => {
  const cases: Array<{ p: SessionProgress[]; want: Partial<TeleportSourceStatus> }> = [
    { p: [{ emitted: 4 }, { emitted: 1 }], want: { sessionEventsEmitted: 5, lastError: null } },
    { p: [{ finished: 1 }, { finished: 1 }, { gaveUp: 1 }], want: { sessionsFinished: 2, sessionsGivenUp: 1 } },
    { p: [{ error: 'NOT_FOUND' }, { emitted: 1 }], want: { lastError: 'NOT_FOUND', sessionEventsEmitted: 1 } },
  ];
  for (const c of cases) {
    const st = initialStatus();
    for (const p of c.p) foldSessionProgress(st, p);
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual(st[k as keyof TeleportSourceStatus], v, k);
  }
});

test('the view: what the parts know now, quiet streams capped, a copy of the identity', () => {
  const st = { ...initialStatus(), state: 'running' as const, eventsEmitted: 7 };
  st.identity = { file: '/id', user: 'bot', notAfter: '2026-12-31T00:00:00.000Z' };
  const quiet = Array.from({ length: QUIET_LISTED + 3 }, (_, i) => ({
    what: `s${i}`,
    quietForMs: 100 - i,
    started: true,
  }));
  const v = statusView(st, {
    sessions: { active: 2, pending: 3 },
    locks: 1,
    streamsOpen: 20,
    quiet,
    held: { batches: 2, since: 50 },
  });
  assert.equal(v.eventsEmitted, 7);
  assert.deepEqual(
    [v.sessionsActive, v.sessionsPending, v.locksUpserted, v.streamsOpen, v.spoolWaiting, v.spoolWaitingSince],
    [2, 3, 1, 20, 2, 50],
  );
  assert.equal(v.quietStreams.length, QUIET_LISTED);
  assert.equal(v.streamsQuiet, QUIET_LISTED + 3);
  assert.deepEqual(v.identity, st.identity);
  assert.notEqual(v.identity, st.identity, 'a copy: a caller cannot change the source');

  const before = statusView(initialStatus(), {
    sessions: undefined,
    locks: undefined,
    streamsOpen: 0,
    quiet: [],
    held: { batches: 0, since: undefined },
  });
  assert.deepEqual(
    [before.sessionsActive, before.sessionsPending, before.locksUpserted, before.spoolWaitingSince, before.identity],
    [0, 0, 0, null, null],
  );
});
