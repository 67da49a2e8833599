// the exporter's failure reporting: a chunk failing again and again is called stuck (an error, listed in status)
// from its STUCK_AFTER-th failure in a row, and cleared when it succeeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureLogs } from '../../helpers/logs.js';
import { FailureLog, type ExplainedError } from '../../../src/sources/teleport/explain.js';
import { ExportFailures, STUCK_AFTER, StuckChunks, type StuckChunk } from '../../../src/sources/teleport/failures.js';

const x = (err: string, permanent = false): ExplainedError => ({
  problem: permanent ? 'access' : 'other',
  permanent,
  summary: 'teleport said no',
  hint: permanent ? 'fix the role' : undefined,
  err,
});

test('stuck chunks: counted per chunk, loud from the STUCK_AFTER-th failure in a row, cleared on success', () => {
  const cases: Array<{ name: string; steps: Array<'fail-a' | 'fail-b' | 'ok-a'>; stuck: string[]; errors: number }> = [
    { name: 'below the threshold', steps: Array(STUCK_AFTER - 1).fill('fail-a'), stuck: [], errors: 0 },
    { name: 'at the threshold', steps: Array(STUCK_AFTER).fill('fail-a'), stuck: ['a:5'], errors: 1 },
    {
      name: 'each failure past it is an error',
      steps: Array(STUCK_AFTER + 2).fill('fail-a'),
      stuck: ['a:7'],
      errors: 3,
    },
    {
      name: 'chunks count apart',
      steps: [...Array(STUCK_AFTER).fill('fail-a'), ...Array(STUCK_AFTER - 1).fill('fail-b')],
      stuck: ['a:5'],
      errors: 1,
    },
    { name: 'a success clears it', steps: [...Array(STUCK_AFTER).fill('fail-a'), 'ok-a'], stuck: [], errors: 1 },
    {
      name: 'a success starts the row again',
      steps: [...Array(STUCK_AFTER - 1).fill('fail-a'), 'ok-a', 'fail-a'],
      stuck: [],
      errors: 0,
    },
  ];
  for (const c of cases) {
    const logs = captureLogs();
    let t = 1000;
    let reported: StuckChunk[] = [];
    const stuck = new StuckChunks(
      logs.logger,
      () => t,
      new FailureLog(logs.logger, () => t),
      (s) => (reported = s),
    );
    for (const s of c.steps) {
      t += 10;
      const chunk = s.endsWith('a') ? 'a' : 'b';
      if (s.startsWith('ok')) stuck.succeeded(`key-${chunk}`);
      else stuck.failed(`key-${chunk}`, '2026-12-01', chunk, x(`INTERNAL ${t}`));
    }
    assert.deepEqual(
      reported.map((r) => `${r.chunk}:${r.failures}`),
      c.stuck,
      c.name,
    );
    const errors = logs.lines.filter((l) => l.level === 50 && /keeps failing/.test(String(l.msg)));
    assert.equal(errors.length, c.errors, `${c.name}: error lines`);
  }
});

test('a stuck chunk says since when and its last error; a permanent problem carries its hint', () => {
  const logs = captureLogs();
  let t = 1000;
  let reported: StuckChunk[] = [];
  const stuck = new StuckChunks(
    logs.logger,
    () => t,
    new FailureLog(logs.logger, () => t),
    (s) => (reported = s),
  );
  for (let i = 0; i < STUCK_AFTER; i++) {
    stuck.failed('k', '2026-12-01', 'c', x(`denied ${i}`, true));
    t += 1000;
  }
  assert.deepEqual(reported, [
    { date: '2026-12-01', chunk: 'c', failures: STUCK_AFTER, since: 1000, lastError: `denied ${STUCK_AFTER - 1}` },
  ]);
  const line = logs.lines.find((l) => /keeps failing/.test(String(l.msg)))!;
  assert.equal(line.since, new Date(1000).toISOString());
  assert.equal(line.hint, 'fix the role');
});

test('export failures: each failure explained and reported; the round keeps its last problem', () => {
  const logs = captureLogs();
  const reported: string[] = [];
  const f = new ExportFailures(
    (err) => x(String(err), true),
    logs.logger,
    () => 0,
    false,
    30_000,
    (e) => reported.push(e),
  );
  assert.equal(f.roundProblem, undefined);
  f.failed('first');
  const last = f.failed('second');
  assert.equal(f.roundProblem, last);
  assert.equal(last.err, 'second');
  assert.equal(reported.length, 2);
  assert.deepEqual(reported, ['teleport said no (first): fix the role', 'teleport said no (second): fix the role']);
});
