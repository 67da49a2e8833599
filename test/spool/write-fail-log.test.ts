// a full or failing disk fails every group commit: the spool logs it at most once per interval, with how many
// failed writes it folded into the line, so a stuck disk does not flood the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLevel } from 'memory-level';
import { openSpool, type SpoolDb } from '../../src/spool/spool.js';
import { captureLogs } from '../helpers/logs.js';
import { watchBatches } from './helpers.js';
import { sectionDefaults } from '../../src/config/sections.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

test('failed writes are logged at most once a second, with the count of those not logged', async () => {
  const db = new MemoryLevel<string, string>() as unknown as SpoolDb;
  const watch = watchBatches(db);
  const logs = captureLogs();
  let now = 1_000_000;
  const spool = await openSpool({
    syncIntervalMs: SYNC_MS,
    db,
    maxBytes: 1 << 20,
    logger: logs.logger,
    now: () => now,
  });
  watch.fail = 'before';
  const failedLines = () => logs.lines.filter((l) => l.msg === 'spool write failed; its callers got an error');
  for (const [at, want] of [
    [1_000_000, 1], // the first failure is logged at once
    [1_000_300, 1],
    [1_000_600, 1],
    [1_001_000, 2], // a second later: logged, with the two folded in
  ] as const) {
    now = at;
    await assert.rejects(spool.append(['{"m":1}']));
    assert.equal(failedLines().length, want, `at +${at - 1_000_000} ms`);
  }
  assert.equal(failedLines()[1]!.failedWritesNotLogged, 2);
  watch.fail = null;
  await spool.close();
});
