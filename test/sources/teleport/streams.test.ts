// which open streams are quiet, and which are news: a stalled stream is reported once per stall, a stream whose
// batch is being written (waiting for spool space) is not quiet, a finished one is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamWatch } from '../../../src/sources/teleport/streams.js';

test('quiet streams: reported once per stall, not while a batch is written, gone when done', () => {
  let now = 0;
  const w = new StreamWatch(() => now);
  const a = w.track('export chunk a of 2026-11-20');
  const b = w.track('session recording b');
  assert.equal(w.size, 2);
  now = 59_999;
  assert.deepEqual(w.quiet(60_000), []);
  now = 60_000;
  assert.deepEqual(
    w.quiet(60_000).map((q) => [q.what, q.quietForMs, q.started]),
    [
      ['export chunk a of 2026-11-20', 60_000, false],
      ['session recording b', 60_000, false],
    ],
  );
  assert.equal(w.newlyQuiet(60_000).length, 2);
  assert.equal(w.newlyQuiet(60_000).length, 0, 'each stall is news once');

  // a batch arrives on a; writing it takes long (spool full): not the server's silence
  a.received();
  now = 200_000;
  assert.deepEqual(
    w.quiet(60_000).map((q) => q.what),
    ['session recording b'],
  );
  a.reading();
  now = 259_999;
  assert.deepEqual(
    w.quiet(60_000).map((q) => q.what),
    ['session recording b'],
  );
  now = 260_000;
  // quietest first; a started again counts as started, and its new stall is news
  assert.deepEqual(
    w.quiet(60_000).map((q) => [q.what, q.started]),
    [
      ['session recording b', false],
      ['export chunk a of 2026-11-20', true],
    ],
  );
  assert.deepEqual(
    w.newlyQuiet(60_000).map((q) => q.what),
    ['export chunk a of 2026-11-20'],
  );

  a.done();
  b.done();
  b.done();
  assert.equal(w.size, 0);
  assert.deepEqual(w.quiet(0), []);
});

test('a stream that has sent nothing yet is quiet only after the first-message factor', () => {
  let now = 0;
  const w = new StreamWatch(() => now, 4);
  const a = w.track('session recording a');
  now = 60_000;
  assert.deepEqual(w.newlyQuiet(60_000), [], 'the auth service may still be preparing it');
  now = 240_000;
  assert.deepEqual(
    w.newlyQuiet(60_000).map((q) => [q.what, q.started]),
    [['session recording a', false]],
  );
  a.received();
  a.reading();
  now += 60_000;
  assert.deepEqual(
    w.quiet(60_000).map((q) => q.started),
    [true],
    'once started, the plain threshold',
  );
});
