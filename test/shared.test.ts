// the cross-cutting parts every component uses: the abortable sleep, the backoff policies, the log interval.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from '../src/sleep.js';
import { Backoff, fullJitterMs, unit } from '../src/backoff.js';
import { LogInterval, silentLogger } from '../src/log.js';

test('sleep: true after the full time, false at once when aborted before or during', async () => {
  assert.equal(await sleep(5), true);
  const before = new AbortController();
  before.abort();
  const t0 = Date.now();
  assert.equal(await sleep(60_000, before.signal), false);
  const during = new AbortController();
  setTimeout(() => during.abort(), 10);
  assert.equal(await sleep(60_000, during.signal), false);
  assert.ok(Date.now() - t0 < 10_000, 'an abort ends the sleep at once');
});

test('full jitter: a draw within [0, min(cap, base x 2^attempt))', () => {
  const cases: Array<[attempt: number, random: number, want: number]> = [
    [0, 0, 0],
    [0, 0.5, 50],
    [1, 0.5, 100],
    [3, 0.999, 799],
    [10, 0.5, 500], // capped at 1000
    [-1, 0.5, 50],
  ];
  for (const [attempt, r, want] of cases)
    assert.equal(
      fullJitterMs(attempt, 100, 1000, () => r),
      want,
      `${attempt}`,
    );
  assert.equal(unit(NaN), 0);
  assert.equal(unit(1), 0.999999);
});

test('decorrelated jitter: from base, at most 3x the last, capped, reset to base', () => {
  const b = new Backoff(100, 1000, () => 1);
  assert.deepEqual([b.next(), b.next(), b.next()], [300, 900, 1000]);
  b.reset();
  assert.equal(b.next(), 300);
});

test('log interval: the first line is due, then one per interval from the last marked', () => {
  const l = new LogInterval(1000);
  assert.equal(l.lastAt, -Infinity);
  assert.equal(l.due(0), true);
  l.mark(0);
  assert.equal(l.due(999), false);
  assert.equal(l.due(1000), true);
  l.mark(1500);
  assert.equal(l.due(2000), false);
  assert.equal(l.due(2500), true);
  assert.equal(l.lastAt, 1500);
  silentLogger.info({ any: 1 }, 'goes nowhere');
});
