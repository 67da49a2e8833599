// the write-ahead log guard against real classic-level stores: damage in the middle of a log is reported and the
// log kept; a log cut short at its end (what a crash mid-write leaves) is not damage. and the pure parts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { openSpool } from '../../src/spool/spool.js';
import { collectingLogger } from './helpers.js';
import { parseDamage } from '../../src/spool/wal-damage.js';
import { namesDamagedFile } from '../../src/spool/storage-errors.js';
import { sectionDefaults } from '../../src/config/sections.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

const RECORDS = 1500;

/**
 * a store whose records are all still in its write-ahead log (leveldb does not flush it on close), a batch of 50
 * each: appends carrying state go to LevelDB at once, not through the journal
 */
async function storeWithLog(t: { after(fn: () => void): void }): Promise<{ dir: string; log: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-wal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1 << 30 });
  for (let i = 0; i < RECORDS; i += 50) {
    await spool.append(
      Array.from({ length: 50 }, (_, j) => JSON.stringify({ n: i + j, pad: 'p'.repeat(400) })),
      [{ type: 'put', key: 'filled', value: String(i) }],
    );
  }
  await spool.close();
  const log = readdirSync(dir).find((f) => f.endsWith('.log'));
  assert.ok(log && statSync(join(dir, log)).size > 200_000, 'the records are in a log file');
  return { dir, log: join(dir, log) };
}

test('a log overwritten in the middle: reported with the bytes dropped, the log kept whole', async (t) => {
  const { dir, log } = await storeWithLog(t);
  const size = statSync(log).size;
  const fd = openSync(log, 'r+');
  writeSync(fd, Buffer.alloc(2000, 0x5a), 0, 2000, 70_000);
  closeSync(fd);
  const { lines, logger } = collectingLogger();
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1 << 30, logger });
  const stats = spool.stats();
  await spool.close();
  assert.ok(stats.records < RECORDS);
  assert.ok(stats.walDamage && stats.walDamage.droppedBytes > 0);
  assert.ok(stats.walDamage.reasons.some((r) => r.startsWith('Corruption:')));
  const errors = lines.filter((l) => l.level === 'error');
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.msg!, /records acknowledged before the last stop may be lost/);
  const kept = stats.walDamage.keptIn!;
  assert.ok(kept.startsWith(join(dir, 'damaged-wal-')));
  const keptFiles = readdirSync(kept);
  assert.equal(keptFiles.length, 1);
  assert.equal(statSync(join(kept, keptFiles[0]!)).size, size);
});

test('a log cut short in its last record (a crash mid-write): no damage reported, nothing kept', async (t) => {
  const { dir, log } = await storeWithLog(t);
  truncateSync(log, statSync(log).size - 100);
  const { lines, logger } = collectingLogger();
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1 << 30, logger });
  const stats = spool.stats();
  await spool.close();
  assert.equal(stats.walDamage, null);
  assert.equal(stats.records, RECORDS - 50, 'only the torn last batch is missing');
  assert.deepEqual(
    lines.filter((l) => l.level === 'error' || l.level === 'warn'),
    [],
  );
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('damaged-wal-') || f === '.wal-at-open'),
    [],
  );
});

test('links left by a run that died mid-open are cleared, not reported', async (t) => {
  const { dir } = await storeWithLog(t);
  const db = new ClassicLevel(dir);
  await db.open();
  await db.close();
  // what guardWal leaves if the process dies between its links and settle()
  mkdirSync(join(dir, '.wal-at-open'));
  writeFileSync(join(dir, '.wal-at-open', '000001.log'), 'stale');
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1 << 30 });
  await spool.close();
  assert.ok(!readdirSync(dir).includes('.wal-at-open'));
});

test('parseDamage reads leveldb recovery lines', () => {
  const log = [
    '2026/11/22-03:29:24.326892 7f91 Recovering log #3',
    '2026/11/22-03:29:24.327056 7f91 (ignoring error) /s/000003.log: dropping 31291 bytes; Corruption: checksum mismatch',
    '2026/11/22-03:29:24.327064 7f91 (ignoring error) /s/000003.log: dropping 99 bytes; Corruption: missing start of fragmented record(2)',
    '2026/11/22-03:29:24.327070 7f91 (ignoring error) /s/000007.log: dropping 10 bytes; Corruption: checksum mismatch',
    '2026/11/22-03:29:24.328474 7f91 Level-0 table #5: started',
  ].join('\n');
  assert.deepEqual(parseDamage(log), {
    droppedBytes: 31400,
    reasons: ['Corruption: checksum mismatch', 'Corruption: missing start of fragmented record(2)'],
  });
  assert.equal(parseDamage('2026/11/22-03:29:24 7f91 Recovering log #3\n2026/11/22 7f91 Delete type=0 #3\n'), null);
  // a log leveldb could not open or apply at all is skipped whole, with only this line
  assert.deepEqual(
    parseDamage('2026/11/22-03:29:24.3 7f91 Ignoring error IO error: /s/000009.log: Input/output error\n'),
    {
      droppedBytes: 0,
      reasons: ['a log skipped whole: IO error: /s/000009.log: Input/output error'],
    },
  );
  assert.equal(parseDamage(''), null);
});

test("namesDamagedFile: io errors about the store's own files are damage, environment errors are not", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-names-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'CURRENT'), 'MANIFEST-000009\n');
  assert.equal(namesDamagedFile(dir, `IO error: ${dir}/000005.ldb: Invalid argument`), true);
  assert.equal(namesDamagedFile(dir, `IO error: ${dir}/MANIFEST-000009: No such file or directory`), true);
  assert.equal(namesDamagedFile(dir, `IO error: ${dir}/000005.ldb: Permission denied`), false);
  assert.equal(namesDamagedFile(dir, `IO error: ${dir}/LOCK: Permission denied`), false);
  assert.equal(namesDamagedFile(dir, `IO error: ${dir}/000005.ldb: No space left on device`), false);
  assert.equal(namesDamagedFile(dir, `IO error: ${dir}/LOG: Invalid argument`), false);
  assert.equal(namesDamagedFile(dir, `IO error: /elsewhere/000005.ldb: Invalid argument`), false);
  writeFileSync(join(dir, 'CURRENT'), 'garbage\n');
  assert.equal(namesDamagedFile(dir, `IO error: ${dir}/garbage: No such file or directory`), true);
  assert.equal(namesDamagedFile(dir, 'Corruption: bad block'), false);
  // environment trouble on the store's own files is not damage: its advice would throw queued records away
  for (const reason of [
    'Disk quota exceeded',
    'Cannot allocate memory',
    'Stale file handle',
    'Transport endpoint is not connected',
    'Input/output error',
  ]) {
    assert.equal(namesDamagedFile(dir, `IO error: ${dir}/000012.log: ${reason}`), false, reason);
    assert.equal(namesDamagedFile(dir, `IO error: ${dir}/000005.ldb: ${reason}`), false, reason);
  }
  assert.equal(
    namesDamagedFile(dir, `IO error: ${dir}/000012.log: Invalid argument`),
    false,
    'a log is replayed, not read past its end',
  );
});
