import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  deadBefore,
  deadKey,
  formatMeta,
  isDeadKey,
  parseMeta,
  parseQueueKey,
  queueFrom,
  queueKey,
  QUEUE_GTE,
  QUEUE_LT,
  DEAD_GTE,
  DEAD_LT,
  stateKey,
} from '../../src/spool/keys.js';

test('queue keys sort by sequence whatever the append time, and round-trip', () => {
  const seqs = [0, 1, 9, 10, 15, 16, 255, 256, 4095, 2 ** 40, Number.MAX_SAFE_INTEGER];
  const keys = seqs.map((seq, i) => queueKey(seq, 1_700_000_000_000 - i * 1000, 2 ** 31 - i));
  assert.deepEqual([...keys].sort(), keys);
  keys.forEach((key, i) => {
    assert.deepEqual(parseQueueKey(key), { seq: seqs[i], at: 1_700_000_000_000 - i * 1000, bytes: 2 ** 31 - i });
    assert.ok(key >= QUEUE_GTE && key < QUEUE_LT);
  });
});

test('queueFrom(seq) is above every key of a smaller sequence and below every key of seq', () => {
  for (const seq of [1, 16, 1000]) {
    assert.ok(queueKey(seq - 1, 2 ** 47, 2 ** 32 - 1) < queueFrom(seq));
    assert.ok(queueFrom(seq) <= queueKey(seq, 0, 0));
  }
});

test('parseQueueKey rejects keys of other shapes', () => {
  const good = queueKey(1, 1, 1);
  for (const key of ['q!', 'q!zz', 's!cursor', good + 'x', good.replace('!0', 'x0'), good.slice(0, -1) + 'g']) {
    assert.equal(parseQueueKey(key), null, key);
  }
});

test('dead-letter keys sort by time and purge ranges end before the given time', () => {
  const early = deadKey(1000, 99);
  const late = deadKey(2000, 1);
  assert.ok(early < late);
  assert.ok(early < deadBefore(2000) && late >= deadBefore(2000));
  assert.ok(isDeadKey(early) && !isDeadKey(queueKey(1, 1, 1)));
  assert.ok(early > DEAD_GTE && late < DEAD_LT);
});

test('prefixes do not overlap', () => {
  const samples = [deadKey(Date.now(), 5), 'm!commit', queueKey(5, Date.now(), 10), stateKey('')];
  assert.deepEqual([...samples].sort(), samples);
  assert.ok(stateKey('\u{10ffff}') > QUEUE_LT);
});

test('meta values round-trip and garbage reads as empty', () => {
  assert.deepEqual(parseMeta(formatMeta(7, 41)), { batch: 7, lastSeq: 41 });
  assert.deepEqual(parseMeta(undefined), { batch: 0, lastSeq: -1 });
  assert.deepEqual(parseMeta('nonsense'), { batch: 0, lastSeq: -1 });
});
