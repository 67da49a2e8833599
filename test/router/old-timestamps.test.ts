import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOldTimestamps, type OldTimestampPolicy } from '../../src/router/old-timestamps.js';

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const OLD = { tag: 'events.log', time: NOW - 3 * 86_400_000, record: {} };
const MAX_AGE = 17 * 3_600_000;

function harness(policy: OldTimestampPolicy, withLog = true) {
  const stats = { oldRestamped: 0, oldKept: 0, oldDropped: 0 };
  const lines: Array<{ obj: any; msg: string }> = [];
  const timers: Array<{ fn: () => void; ms: number; cancelled: boolean }> = [];
  let t = NOW;
  const policyObj = createOldTimestamps({
    policy,
    maxAgeMs: MAX_AGE,
    stats,
    now: () => t,
    setTimer: (fn, ms) => {
      const timer = { fn, ms, cancelled: false };
      timers.push(timer);
      return () => {
        timer.cancelled = true;
      };
    },
    info: withLog ? (obj, msg) => lines.push({ obj, msg }) : undefined,
  });
  return { policy: policyObj, stats, lines, timers, at: (ms: number) => (t = ms) };
}

const table: Array<[OldTimestampPolicy, { oldRestamped: number; oldKept: number; oldDropped: number }, RegExp]> = [
  ['restamp', { oldRestamped: 3, oldKept: 0, oldDropped: 0 }, /: sent stamped now, with original_timestamp/],
  ['keep', { oldRestamped: 0, oldKept: 3, oldDropped: 0 }, /: sent as they are/],
  ['drop', { oldRestamped: 0, oldKept: 0, oldDropped: 3 }, /: dropped/],
];

for (const [policy, counts, what] of table) {
  test(`old timestamps, ${policy}: the action, the counts and the first line at once`, () => {
    const h = harness(policy);
    for (let i = 0; i < 3; i++) assert.equal(h.policy.apply(OLD, NOW + i), policy);
    assert.deepEqual(h.stats, counts);
    assert.equal(h.lines.length, 1, 'the first old event is logged at once, the others wait');
    const first = h.lines[0]!;
    assert.match(first.msg, new RegExp(`^routing\\.old-timestamps = ${policy}: 1 event older than 17h \\(`));
    assert.match(first.msg, what);
    assert.match(first.msg, /later counts follow at most every 1m$/);
    assert.equal(first.obj.sampleTime, new Date(OLD.time).toISOString());
    assert.equal(first.obj.maxAgeMs, MAX_AGE);
    assert.equal(first.obj.periodMs, 0);
    // one timer for the rest, for what is left of the interval
    assert.equal(h.timers.length, 1);
    assert.equal(h.timers[0]!.ms, 60_000 - 1);
    h.at(NOW + 60_000);
    h.timers[0]!.fn();
    assert.equal(h.lines.length, 2);
    assert.equal(h.lines[1]!.obj.events, 2);
    assert.match(h.lines[1]!.msg, /: 2 events older than 17h in the last 1 m 0 s /);
    assert.deepEqual(h.lines[1]!.obj.sinceStart, {
      restamped: counts.oldRestamped,
      kept: counts.oldKept,
      dropped: counts.oldDropped,
    });
  });
}

test('old timestamps: flush logs what is pending and cancels the timer; with nothing pending it logs nothing', () => {
  const h = harness('restamp');
  h.policy.apply(OLD, NOW);
  h.policy.apply(OLD, NOW + 10);
  h.policy.flush();
  assert.equal(h.lines.length, 2);
  assert.equal(h.lines[1]!.obj.events, 1);
  assert.equal(h.timers[0]!.cancelled, true);
  h.policy.flush();
  assert.equal(h.lines.length, 2);
});

test('old timestamps: a clock that steps back never waits longer than one interval', () => {
  const h = harness('keep');
  h.policy.apply(OLD, NOW);
  h.policy.apply(OLD, NOW - 3_600_000);
  assert.equal(h.timers[0]!.ms, 60_000);
});

test('old timestamps: without a logger they are counted and no timer is set', () => {
  const h = harness('drop', false);
  for (let i = 0; i < 5; i++) h.policy.apply(OLD, NOW + i * 100_000);
  assert.equal(h.stats.oldDropped, 5);
  assert.equal(h.timers.length, 0);
  h.policy.flush();
  assert.equal(h.lines.length, 0);
});
