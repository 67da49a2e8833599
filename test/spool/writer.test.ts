// the writer beside its planning: what the plan reports (a dead letter it could not read) reaches the log, and
// the letter stays where it was while the readable ones beside it are replayed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLevel } from 'memory-level';
import { deadKey } from '../../src/spool/keys.js';
import { openSpool } from '../../src/spool/spool.js';
import { collectingLogger } from './helpers.js';
import { sectionDefaults } from '../../src/config/sections.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

test('replay leaves an unreadable dead letter in place, names it in a warning, and replays the others', async () => {
  const db = new MemoryLevel<string, string>();
  const good = deadKey(1_700_000_000_000, 1);
  const bad = deadKey(1_700_000_000_000, 2);
  await db.put(good, JSON.stringify({ reason: 'HTTP 400', status: 400, at: 1_700_000_000_000, value: '{"m":1}' }));
  await db.put(bad, 'not json {');
  const { lines, logger } = collectingLogger();
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, db, maxBytes: 1 << 30, logger });
  try {
    assert.equal(spool.stats().deadLetters, 2);
    assert.equal(await spool.replayDead(), 1);
    const warned = lines.filter((l) => l.level === 'warn' && /dead letter is not readable/.test(l.msg ?? ''));
    assert.deepEqual(
      warned.map((l) => l.obj.spoolKey),
      [bad],
    );
    assert.deepEqual(
      (await spool.listDead()).map((d) => [d.key, d.value]),
      [[bad, 'not json {']],
    );
    assert.deepEqual(
      (await spool.take(10, 1 << 20)).map((i) => i.value),
      ['{"m":1}'],
    );
    assert.equal(spool.stats().deadLetters, 1);
  } finally {
    await spool.close();
  }
});
