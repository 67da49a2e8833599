// the pure parts of backfill: times from the command line, the overlap with the live poller, progress figures,
// and moving the live cursor
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fraction, overlapWithLive, pace, parseWhen, resolveRange } from '../../src/backfill/range.js';
import { liveCursor, planCursorMove } from '../../src/backfill/cursor.js';
import { jobLine, progressBar } from '../../src/backfill/render.js';
import type { JobView } from '../../src/backfill/manager.js';
import { K } from '../../src/sources/teleport/state.js';
import { ConfigError } from '../../src/errors.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const H = 3600_000;

test('parseWhen: RFC 3339 times and ages counted back from now', () => {
  const cases: Array<[string, number]> = [
    ['2026-12-01T00:00:00Z', Date.parse('2026-12-01T00:00:00Z')],
    ['2026-12-01T02:00:00+02:00', Date.parse('2026-12-01T00:00:00Z')],
    ['2026-12-01', Date.parse('2026-12-01T00:00:00Z')],
    ['7d', NOW - 7 * 24 * H],
    ['2w', NOW - 14 * 24 * H],
    ['36h', NOW - 36 * H],
    ['1h30m', NOW - 1.5 * H],
    ['0', NOW],
  ];
  for (const [input, want] of cases) assert.equal(parseWhen(input, NOW, '--from'), want, input);
  for (const bad of ['yesterday', '7 days', '2026-13-01T00:00:00Z', '', '\u0000\u0001']) {
    assert.throws(
      () => parseWhen(bad, NOW, '--from'),
      (e: unknown) => e instanceof ConfigError && /^--from: /.test(e.message) && !/\u0000/.test(e.message),
      bad,
    );
  }
});

test('resolveRange: --to defaults to now; from before to; nothing in the future', () => {
  assert.deepEqual(resolveRange('7d', undefined, NOW), { from: NOW - 7 * 24 * H, to: NOW });
  assert.deepEqual(resolveRange('7d', '6d', NOW), { from: NOW - 7 * 24 * H, to: NOW - 6 * 24 * H });
  assert.throws(() => resolveRange(undefined, '1d', NOW), /needs --from/);
  assert.throws(() => resolveRange('1d', '2d', NOW), /is not before --to/);
  assert.throws(() => resolveRange('1d', '2026-12-08T00:00:00Z', NOW), /in the future/);
});

test('overlapWithLive: none, clipped at the live start, or inside it', () => {
  const r = { from: 100, to: 200 };
  assert.deepEqual(overlapWithLive(r, undefined), { kind: 'none' });
  assert.deepEqual(overlapWithLive(r, 200), { kind: 'none' });
  assert.deepEqual(overlapWithLive(r, 250), { kind: 'none' });
  assert.deepEqual(overlapWithLive(r, 150), {
    kind: 'clipped',
    range: { from: 100, to: 150 },
    dropped: { from: 150, to: 200 },
  });
  assert.deepEqual(overlapWithLive(r, 100), { kind: 'inside', dropped: r });
  assert.deepEqual(overlapWithLive(r, 50), { kind: 'inside', dropped: r });
});

test('fraction and pace', () => {
  const r = { from: 0, to: 1000 };
  assert.equal(fraction(r, undefined, false), 0);
  assert.equal(fraction(r, 250, false), 0.25);
  assert.equal(fraction(r, -5, false), 0);
  assert.equal(fraction(r, 5000, false), 1);
  assert.equal(fraction(r, 10, true), 1);
  // 1000 events in 10 s, a quarter of the range from the start: three quarters left take 30 s
  assert.deepEqual(pace(1000, 0, 0, 0.25, 10_000), { rate: 100, etaSeconds: 30 });
  assert.deepEqual(pace(0, 0, 0.5, 0.5, 10_000), { rate: 0, etaSeconds: null });
  assert.equal(pace(10, 0, 0, 1, 1000).etaSeconds, 0);
});

const job = (over: Partial<JobView> = {}): JobView => ({
  id: 'bf-20261207-abcdef',
  from: Date.parse('2026-12-01T00:00:00Z'),
  to: Date.parse('2026-12-02T00:00:00Z'),
  types: [],
  skipEventTypes: [],
  sessions: false,
  state: 'running',
  createdAt: 0,
  finishedAt: null,
  events: 12345,
  sessionEvents: 0,
  sessionsLeft: 0,
  error: null,
  clipped: null,
  mode: 'export',
  progress: 0.5,
  rate: 2000,
  etaSeconds: 125,
  lastError: null,
  ...over,
});

test('job lines and the progress bar', () => {
  assert.equal(
    jobLine(job()),
    'bf-20261207-abcdef  running   2026-12-01T00:00:00.000Z .. 2026-12-02T00:00:00.000Z  50%, 12,345 events, 2,000/s, eta 2m 5s',
  );
  assert.equal(
    jobLine(job({ state: 'done', progress: 1, sessions: true, sessionEvents: 7 })),
    'bf-20261207-abcdef  done      2026-12-01T00:00:00.000Z .. 2026-12-02T00:00:00.000Z  100%, 12,345 events, 7 session events',
  );
  assert.match(jobLine(job({ lastError: 'denied\nnow' })), /; last error: denied now$/);
  assert.equal(progressBar(job(), 10), '[#####-----]  50% 12,345 events 2,000/s eta 2m 5s');
  assert.equal(progressBar(job({ state: 'done', progress: 1, rate: null }), 4), '[####] 100% 12,345 events done');
});

test('cursor: where the live poller is, and what moving its start does', () => {
  const start = '2026-12-01T00:00:00.000Z';
  const exportRows = [
    { key: K.startTime, value: start },
    { key: K.mode, value: 'export' },
    { key: K.exportDate, value: '2026-12-05' },
    { key: K.chunk('2026-12-05', 'c1'), value: '{"c":"x"}' },
    { key: K.chunk('2026-12-04', 'c2'), value: '{"done":true}' },
    { key: K.session('s1'), value: '{"i":3,"t":1}' },
  ];
  const c = liveCursor(exportRows);
  assert.equal(c.mode, 'export');
  assert.equal(c.position, Date.parse('2026-12-05T00:00:00Z'));
  assert.equal(c.sessionsPending, 1);

  // back: sent again; the chunk cursors go, the session stays
  const back = planCursorMove(exportRows, Date.parse('2026-12-03T06:00:00Z'), NOW);
  assert.equal(back.skipped, null);
  assert.deepEqual(back.again, { from: Date.parse('2026-12-03T06:00:00Z'), to: Date.parse('2026-12-05T00:00:00Z') });
  assert.match(back.effect, /sent twice/);
  assert.deepEqual(back.ops, [
    { type: 'put', key: K.startTime, value: '2026-12-03T06:00:00.000Z' },
    { type: 'put', key: K.startTimeMoved, value: new Date(NOW).toISOString() },
    { type: 'put', key: K.exportDate, value: '2026-12-03' },
    { type: 'del', key: K.chunk('2026-12-05', 'c1') },
    { type: 'del', key: K.chunk('2026-12-04', 'c2') },
  ]);

  // forward: skipped
  const fwd = planCursorMove(exportRows, Date.parse('2026-12-06T00:00:00Z'), NOW);
  assert.deepEqual(fwd.skipped, { from: Date.parse('2026-12-05T00:00:00Z'), to: Date.parse('2026-12-06T00:00:00Z') });
  assert.match(fwd.effect, /skipped/);

  // legacy: the window moves
  const legacyRows = [
    { key: K.startTime, value: start },
    { key: K.mode, value: 'legacy' },
    { key: K.legacy, value: JSON.stringify({ w: Date.parse('2026-12-04T00:00:00Z'), k: 'p', id: 'e' }) },
  ];
  assert.equal(liveCursor(legacyRows).position, Date.parse('2026-12-04T00:00:00Z'));
  const l = planCursorMove(legacyRows, Date.parse('2026-12-02T00:00:00Z'), NOW);
  assert.deepEqual(l.ops[2], {
    type: 'put',
    key: K.legacy,
    value: JSON.stringify({ w: Date.parse('2026-12-02T00:00:00Z'), k: '', id: '' }),
  });

  // never exported: only the start time
  const fresh = planCursorMove([], Date.parse('2026-12-02T00:00:00Z'), NOW);
  assert.equal(fresh.ops.length, 2);
  assert.match(fresh.effect, /nothing was exported yet/);
});
