// the pure parts of the poller: event decoding, selection, batching, lock threshold, options, start time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { silentLogger } from '../../helpers/logs.js';
import { ConfigError } from '../../../src/errors.js';
import {
  decodeEvent,
  structToObject,
  failedLoginUser,
  uploadedSessionId,
} from '../../../src/sources/teleport/events.js';
import { selectEvents } from '../../../src/sources/teleport/handoff.js';
import { pool } from '../../../src/sources/teleport/chunks.js';
import { addDays, isoDate } from '../../../src/sources/teleport/dates.js';
import { legacyWindowEnd, wholeSecondBefore } from '../../../src/sources/teleport/legacy.js';
import { readBatches } from '../../../src/sources/teleport/batches.js';
import { reachesThreshold, createLocker } from '../../../src/sources/teleport/lock.js';
import { resolveOptions } from '../../../src/sources/teleport/options.js';
import { sectionDefaults } from '../../../src/config/sections.js';
import { StateStore, resolveStartTime, K } from '../../../src/sources/teleport/state.js';
import { Backoff } from '../../../src/backoff.js';
import type { StateOp } from '../../../src/spool/types.js';

const logger = silentLogger;

test('Struct values decode to plain JSON', () => {
  const obj = structToObject({
    fields: {
      s: { stringValue: 'x' },
      n: { numberValue: 1.5 },
      z: { nullValue: 'NULL_VALUE' },
      f: { boolValue: false },
      l: { listValue: { values: [{ numberValue: 0 }, { stringValue: '' }] } },
      o: { structValue: { fields: { a: { boolValue: true } } } },
    },
  });
  assert.deepEqual(obj, { s: 'x', n: 1.5, z: null, f: false, l: [0, ''], o: { a: true } });
});

test('event time comes from the timestamp, else the time field, else now', () => {
  const un = { fields: { event: { stringValue: 'user.login' }, time: { stringValue: '2024-05-01T10:00:01.123Z' } } };
  assert.equal(
    decodeEvent(
      { type: '', id: 'a', time: { seconds: '1714557601', nanos: 500_000_000 }, index: '0', unstructured: un },
      7,
    ).time,
    1714557601500,
  );
  const e = decodeEvent({ type: '', id: 'a', time: null, index: '3', unstructured: un }, 7);
  assert.equal(e.time, Date.parse('2024-05-01T10:00:01.123Z'));
  assert.equal(e.type, 'user.login');
  assert.equal(e.index, 3);
  assert.equal(decodeEvent({ type: 'x', id: 'a', time: null, index: '0', unstructured: null }, 7).time, 7);
});

test('session.upload and failed user.login are recognised', () => {
  const ev = (record: Record<string, unknown>) => ({ type: String(record.event), id: '', index: 0, time: 0, record });
  assert.equal(uploadedSessionId(ev({ event: 'session.upload', sid: 's1' })), 's1');
  assert.equal(uploadedSessionId(ev({ event: 'session.end', sid: 's1' })), undefined);
  assert.equal(failedLoginUser(ev({ event: 'user.login', success: false, user: 'alice' })), 'alice');
  assert.equal(failedLoginUser(ev({ event: 'user.login', success: true, user: 'alice' })), undefined);
});

test('types and skip-event-types select what is shipped', () => {
  const evs = ['a', 'b', 'c', 'a'].map((type, i) => ({ type, id: String(i), index: 0, time: 0, record: {} }));
  assert.deepEqual(
    selectEvents(evs, [], []).map((e) => e.id),
    ['0', '1', '2', '3'],
  );
  assert.deepEqual(
    selectEvents(evs, [], ['a']).map((e) => e.id),
    ['1', '2'],
  );
  assert.deepEqual(
    selectEvents(evs, ['a', 'b'], ['b']).map((e) => e.id),
    ['0', '3'],
  );
});

test('dates step in UTC', () => {
  assert.equal(addDays('2024-02-28', 1), '2024-02-29');
  assert.equal(addDays('2024-03-01', -1), '2024-02-29');
  assert.equal(isoDate(Date.parse('2024-05-01T23:59:59.999Z')), '2024-05-01');
});

test('pool runs at most n at once and reports the first error after all finished', async () => {
  let active = 0;
  let peak = 0;
  const out = await pool([1, 2, 3, 4, 5, 6], 2, async (x) => {
    active++;
    peak = Math.max(peak, active);
    await new Promise((r) => setTimeout(r, 5));
    active--;
    return x * 2;
  });
  assert.deepEqual(out, [2, 4, 6, 8, 10, 12]);
  assert.equal(peak, 2);
  const seen: number[] = [];
  await assert.rejects(
    pool([1, 2, 3], 3, async (x) => {
      seen.push(x);
      if (x === 2) throw new Error('boom');
    }),
    /boom/,
  );
  assert.deepEqual(seen.sort(), [1, 2, 3]);
});

test('readBatches cuts at max and when the stream pauses, then surfaces errors after the data', async () => {
  const s = new PassThrough({ objectMode: true });
  const got: number[][] = [];
  const reader = (async () => {
    for await (const b of readBatches<number>(s, 3, 10)) got.push(b);
  })();
  for (let i = 0; i < 5; i++) s.write(i);
  await new Promise((r) => setTimeout(r, 50));
  s.write(5);
  s.end();
  await reader;
  assert.deepEqual(got, [[0, 1, 2], [3, 4], [5]]);

  const f = new PassThrough({ objectMode: true });
  const got2: number[][] = [];
  f.write(1);
  setTimeout(() => f.destroy(new Error('stream broke')), 30);
  await assert.rejects(
    (async () => {
      for await (const b of readBatches<number>(f, 10, 5)) got2.push(b);
    })(),
    /stream broke/,
  );
  assert.deepEqual(got2, [[1]]);
});

test('lock threshold: count failures within the period, by event time', () => {
  assert.equal(reachesThreshold([0, 10, 20], 3, 20), true);
  assert.equal(reachesThreshold([0, 10, 21], 3, 20), false);
  assert.equal(reachesThreshold([0, 100, 105, 110], 3, 10), true);
  assert.equal(reachesThreshold([0, 1], 3, 10), false);
});

test('locker: N failures in the period lock once; old failures and dry run do not lock', async () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  const locks: any[] = [];
  const ac = new AbortController();
  const fail = (user: string, t: number) => ({
    type: 'user.login',
    id: '',
    index: 0,
    time: t,
    record: { event: 'user.login', success: false, user },
  });
  const locker = createLocker(
    { enabled: true, failedAttemptsCount: 3, periodMs: 60_000, forMs: 3600_000, dryRun: false },
    { upsert: async (l) => void locks.push(l), logger, now: () => now, signal: ac.signal },
  );
  locker.observe([fail('alice', now - 50_000), fail('alice', now - 20_000)]);
  locker.observe([
    fail('bob', now - 3 * 3600_000),
    fail('bob', now - 3 * 3600_000 + 1),
    fail('bob', now - 3 * 3600_000 + 2),
  ]);
  locker.observe([fail('carol', now - 200_000), fail('carol', now - 100_000), fail('carol', now)]);
  assert.equal(locks.length, 0);
  locker.observe([fail('alice', now - 1000)]);
  await locker.stop();
  assert.equal(locks.length, 1);
  assert.equal(locks[0].user, 'alice');
  assert.equal(locks[0].expires.getTime(), now + 3600_000);
  assert.equal(locker.locks(), 1);

  const dry = createLocker(
    { enabled: true, failedAttemptsCount: 1, periodMs: 1, forMs: 0, dryRun: true },
    { upsert: async (l) => void locks.push(l), logger, now: () => now, signal: ac.signal },
  );
  dry.observe([fail('dave', now)]);
  await dry.stop();
  assert.equal(locks.length, 1);
});

test('locker: counters of users whose failures can no longer count are pruned; recent ones still lock at the N-th', async () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  const locks: any[] = [];
  const ac = new AbortController();
  const fail = (user: string, t: number) => ({
    type: 'user.login',
    id: '',
    index: 0,
    time: t,
    record: { event: 'user.login', success: false, user },
  });
  const locker = createLocker(
    { enabled: true, failedAttemptsCount: 3, periodMs: 60_000, forMs: 0, dryRun: false },
    { upsert: async (l) => void locks.push(l), logger, now: () => now, signal: ac.signal },
  );
  // a history export: one failure each for many users, days ago
  for (let i = 0; i < 10_000; i++) locker.observe([fail(`old-${i}`, now - 2 * 86_400_000 + i)]);
  assert.ok(locker.tracked() <= 2048, `${locker.tracked()} users still tracked`);
  // recent failures are never pruned: two now, many old ones in between, the third locks
  locker.observe([fail('eve', now - 30_000), fail('eve', now - 20_000)]);
  for (let i = 0; i < 5000; i++) locker.observe([fail(`older-${i}`, now - 86_400_000 + i)]);
  assert.equal(locks.length, 0);
  locker.observe([fail('eve', now - 10_000)]);
  await locker.stop();
  assert.deepEqual(
    locks.map((l) => l.user),
    ['eve'],
  );
});

test('options: credentials are exclusive and complete; the lock is resolved from its settings', () => {
  const base = { ...sectionDefaults('teleport'), exitOnLastEvent: false, addr: 'auth:3025' };
  const o = resolveOptions({ ...base, identity: '/id' });
  assert.deepEqual(o.identity, { identityFile: '/id' });
  assert.equal(o.pollIntervalMs, 16_000);
  assert.deepEqual(o.lock, { enabled: false, failedAttemptsCount: 3, periodMs: 60_000, forMs: 0 });
  assert.equal(o.retryBaseMs, 1_000, 'what is not a setting keeps its own default');
  assert.ok(Object.isFrozen(o));
  const locked = resolveOptions({ ...base, identity: '/id', lockEnabled: true, lockPeriodMs: 120_000 });
  assert.deepEqual(locked.lock, { enabled: true, failedAttemptsCount: 3, periodMs: 120_000, forMs: 0 });
  const files = resolveOptions({ ...base, cert: '/c', key: '/k', ca: '/ca' });
  assert.deepEqual(files.identity, { certFile: '/c', keyFile: '/k', caFile: '/ca' });
  assert.throws(() => resolveOptions(base), ConfigError);
  assert.throws(() => resolveOptions({ ...base, identity: '/id', cert: '/c' }), /exclusive/);
  assert.throws(() => resolveOptions({ ...base, cert: '/c', key: '/k' }), /all three/);
  assert.throws(() => resolveOptions({ ...base, addr: 'auth', identity: '/id' }), /host:port/);
});

function memDeps() {
  const state = new Map<string, string>();
  const apply = (ops: StateOp[]) => {
    for (const op of ops) op.type === 'put' ? state.set(op.key, op.value) : state.delete(op.key);
  };
  return {
    state,
    emit: async (_r: unknown[], ops: StateOp[]) => apply(ops),
    waitForSpace: async () => {},
    getState: async (k: string) => state.get(k),
    listState: async (p: string) =>
      [...state]
        .filter(([k]) => k.startsWith(p))
        .sort()
        .map(([key, value]) => ({ key, value })),
    putState: async (ops: StateOp[]) => apply(ops),
  };
}

test('start time is stored on the first run; a different one later is an error once something was exported', async () => {
  const deps = memDeps();
  const store = new StateStore(deps, logger);
  const t = new Date('2024-05-01T00:00:00Z');
  assert.deepEqual(await resolveStartTime(store, t, Date.now()), { start: t, fresh: true });
  assert.equal(deps.state.get(K.startTime), t.toISOString());
  assert.deepEqual(await resolveStartTime(store, undefined, Date.now()), { start: t, fresh: true });
  assert.deepEqual(await resolveStartTime(store, new Date(t), Date.now()), { start: t, fresh: true });

  // nothing exported yet (the auth service never answered, or only the mode probe did): a new value replaces it
  await store.put([{ type: 'put', key: K.mode, value: 'export' }]);
  const later = new Date('2026-11-01T00:00:00Z');
  assert.deepEqual(await resolveStartTime(store, later, Date.now()), {
    start: later,
    fresh: true,
    replaced: t.toISOString(),
  });
  assert.equal(deps.state.get(K.startTime), later.toISOString());

  // once a cursor exists it was made for the stored start time
  await store.put([{ type: 'put', key: K.chunk('2026-11-01', 'c1'), value: '{"c":"x"}' }]);
  assert.deepEqual(await resolveStartTime(store, later, Date.now()), { start: later, fresh: false });
  await assert.rejects(
    resolveStartTime(store, t, Date.now()),
    (e: unknown) =>
      e instanceof ConfigError &&
      /differs from 2026-11-01/.test(e.message) &&
      /cursor set --start-time/.test(e.message) &&
      /backfill --from --to/.test(e.message),
  );
  assert.equal(deps.state.get(K.startTime), later.toISOString());

  // `cursor set` moved it: the configured (old) value is ignored, and said to be
  await store.put([{ type: 'put', key: K.startTimeMoved, value: new Date().toISOString() }]);
  assert.deepEqual(await resolveStartTime(store, t, Date.now()), {
    start: later,
    fresh: false,
    ignored: t.toISOString(),
  });
});

test('commit waits for space and retries the same call when the spool is full', async () => {
  const deps = memDeps();
  let calls = 0;
  let waits = 0;
  deps.emit = async (_r, ops) => {
    calls++;
    if (calls < 3) throw Object.assign(new Error('full'), { code: 'TDF_SPOOL_FULL' });
    for (const op of ops) if (op.type === 'put') deps.state.set(op.key, op.value);
  };
  deps.waitForSpace = async () => void waits++;
  const store = new StateStore(deps, logger);
  await store.commit([{ tag: 't', time: 1, record: {} }], [{ type: 'put', key: 'k', value: 'v' }]);
  assert.equal(calls, 3);
  assert.equal(waits, 2);
  assert.equal(deps.state.get('k'), 'v');
});

test('backoff stays within base and max', () => {
  const b = new Backoff(100, 1000, () => 0.999);
  const seq = Array.from({ length: 8 }, () => b.next());
  for (const d of seq) assert.ok(d >= 100 && d <= 1000);
  assert.equal(seq[seq.length - 1], 1000 * 0.999 + 100 * 0.001);
});

test('legacy windows start and end on whole seconds', () => {
  const T = Date.parse('2026-12-01T00:00:00Z');
  const cases: Array<[start: number, size: number, begin: number, end: number]> = [
    [T, 86_400_000, T, T + 86_400_000],
    [T + 500, 86_400_000, T, T + 86_400_000],
    [T + 999, 2500, T, T + 2000],
    // a window under a second still moves on
    [T, 250, T, T + 1000],
  ];
  for (const [start, size, begin, end] of cases) {
    const w = wholeSecondBefore(start);
    assert.equal(w, begin, `start ${start - T}`);
    assert.equal(legacyWindowEnd(w, size), end, `start ${start - T}, size ${size}`);
  }
});
