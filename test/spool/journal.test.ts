// the journal in front of LevelDB, on real directories: what reaches LevelDB and when, the syncs it makes, and
// what a restart replays. spool.behaviour runs the spool's whole contract with it too (journaled.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { encodeFrame } from '../../src/spool/frame.js';
import { JOURNAL_FILES } from '../../src/spool/journal.js';
import { queueKey } from '../../src/spool/keys.js';
import { openSpool, type SpoolOptions } from '../../src/spool/spool.js';
import type { Spool } from '../../src/spool/types.js';
import { sectionDefaults } from '../../src/config/sections.js';
import { tempDir, watchBatches, within } from './helpers.js';

const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;
const BIG = 1 << 30;

function record(i: number): string {
  return JSON.stringify({ message: `event ${i}` });
}

function ids(values: string[]): number[] {
  return values.map((v) => Number((JSON.parse(v) as { message: string }).message.split(' ')[1]));
}

/** a spool on a classic-level directory with its journal there, every LevelDB batch watched */
async function withJournal(
  options: Partial<SpoolOptions>,
  body: (spool: Spool, ctx: { dir: string; watch: ReturnType<typeof watchBatches> }) => Promise<void>,
): Promise<void> {
  const dir = tempDir();
  try {
    const db = new ClassicLevel<string, string>(dir);
    const watch = watchBatches(db);
    const spool = await openSpool({ syncIntervalMs: SYNC_MS, maxBytes: BIG, ...options, db, journalDir: dir });
    try {
      await body(spool, { dir, watch });
    } finally {
      await spool.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function stored(dir: string): Promise<string[]> {
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, maxBytes: BIG, path: dir });
  try {
    const values: string[] = [];
    while (values.length < spool.stats().records) {
      values.push(...(await within(spool.take(1000, BIG), 10_000, 'take')).map((item) => item.value));
    }
    return values;
  } finally {
    await spool.close();
  }
}

/** the directory as a crash would leave it: copied while the spool still has it open */
function crashCopy(dir: string): string {
  const copy = tempDir();
  for (const name of fs.readdirSync(dir)) {
    if (name !== 'LOCK') fs.copyFileSync(path.join(dir, name), path.join(copy, name));
  }
  return copy;
}

const queued = (watch: ReturnType<typeof watchBatches>): string[] =>
  watch.calls.flatMap((c) => c.ops.filter((op) => op.key.startsWith('q!')).map((op) => op.key));

describe('spool journal', () => {
  it('group-commits concurrent fsync appends into fewer journal syncs; LevelDB gets nothing until it must', async () => {
    await withJournal({}, async (spool, { watch }) => {
      await Promise.all(Array.from({ length: 100 }, (_, i) => spool.append([record(i)])));
      const syncs = spool.stats().syncs ?? 0;
      assert.ok(syncs >= 1 && syncs < 100, `100 concurrent appends took ${syncs} syncs`);
      assert.deepEqual(queued(watch), [], 'no record went to LevelDB');
      assert.equal(spool.stats().records, 100);
    });
  });

  it('records acked before a flush never reach LevelDB; close puts the rest there and empties the journal', async () => {
    const dir = tempDir();
    try {
      const db = new ClassicLevel<string, string>(dir);
      const watch = watchBatches(db);
      const spool = await openSpool({ syncIntervalMs: SYNC_MS, maxBytes: BIG, db, journalDir: dir });
      await spool.append([record(0), record(1), record(2), record(3)]);
      const taken = await spool.take(10, BIG);
      await spool.ack([taken[0], taken[2]]);
      assert.deepEqual(queued(watch), []);
      await spool.close();
      const synced = watch.calls.filter((c) => c.options.sync === true);
      assert.equal(synced.length, 1, 'one synced write at close');
      assert.deepEqual(queued(watch), [taken[1].key, taken[3].key], 'only the records not acked');
      for (const name of JOURNAL_FILES) assert.equal(fs.statSync(path.join(dir, name)).size, 0, name);
      assert.deepEqual(ids(await stored(dir)), [1, 3]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('written: appends are not synced; the background sync syncs the journal once, not LevelDB', async () => {
    await withJournal({ syncIntervalMs: 20 }, async (spool, { watch }) => {
      for (let i = 0; i < 3; i++) await spool.append([record(i)], [], { sync: false });
      assert.equal(spool.stats().syncs, 0, 'acknowledged once written, not synced');
      assert.notEqual(spool.stats().unsyncedSince, null);
      // a hang guard, not a timing assertion: the timer fires the background sync
      await within(
        (async () => {
          while (spool.stats().backgroundSyncs === 0) await new Promise((r) => setTimeout(r, 5));
        })(),
        10_000,
        'the background sync',
      );
      assert.equal(spool.stats().backgroundSyncs, 1);
      assert.equal(spool.stats().syncs, 1);
      assert.equal(spool.stats().unsyncedSince, null);
      assert.deepEqual(watch.calls, [], 'LevelDB was not written');
    });
  });

  it('an append carrying state goes to LevelDB at once, synced, with what the journal staged before it', async () => {
    await withJournal({}, async (spool, { watch }) => {
      await spool.append([record(0)], [], { sync: false });
      await spool.append([record(1)], [{ type: 'put', key: 'cursor', value: 'c1' }]);
      assert.equal(watch.calls.length, 1);
      assert.equal(watch.calls[0].options.sync, true);
      assert.equal(queued(watch).length, 2, 'the staged record and the new one, in one batch');
      assert.equal(await spool.getState('cursor'), 'c1');
    });
  });

  it('the staging bound hands records to LevelDB and the journal moves to its other file', async () => {
    await withJournal({ journalStagingMaxChars: 1000 }, async (spool, { dir, watch }) => {
      for (let i = 0; i < 60; i++) await spool.append([record(i)]);
      assert.ok(queued(watch).length > 0, 'records went to LevelDB');
      const sizes = JOURNAL_FILES.map((name) => fs.statSync(path.join(dir, name)).size);
      assert.ok(
        sizes.every((size) => size > 0),
        `both files were used: ${sizes.join(', ')}`,
      );
      assert.equal(spool.stats().records, 60);
    });
  });

  it('a full journal file moves on with a checkpoint of what is staged: LevelDB gets nothing', async () => {
    for (const sync of [true, false]) {
      await withJournal({ journalMaxBytes: 2_000 }, async (spool, { dir, watch }) => {
        // a sink a few records behind: what is staged stays small, the journal fills its files again and again.
        // record 0 is taken and never acked (a batch in retry): only the checkpoints carry it once its file is reused
        await spool.append([record(0)], [], { sync });
        assert.equal((await spool.take(1, BIG)).length, 1);
        const live: number[] = [];
        let copies = 0;
        for (let i = 1; i < 200; i++) {
          await spool.append([record(i)], [], { sync });
          live.push(i);
          if (live.length > 4) {
            const [item] = await spool.take(1, BIG);
            await spool.ack([item!]);
            live.shift();
          }
          if (i % 37 === 36) {
            // what a crash would leave at this point replays to exactly the records not acked
            const copy = crashCopy(dir);
            try {
              const want = [0, ...live];
              assert.deepEqual(
                ids(await stored(copy)).sort((a, b) => a - b),
                want,
                `sync ${sync}, record ${i}`,
              );
              copies++;
            } finally {
              fs.rmSync(copy, { recursive: true, force: true });
            }
          }
        }
        assert.equal(copies, 5);
        assert.deepEqual(queued(watch), [], 'no record went to LevelDB');
        const sizes = JOURNAL_FILES.map((name) => fs.statSync(path.join(dir, name)).size);
        assert.ok(
          sizes.every((size) => size > 1_000 && size < 4_000),
          `both files were used and stayed near the bound: ${sizes.join(', ')}`,
        );
        assert.equal(spool.stats().records, live.length + 1);
      });
    }
  });

  it('a full journal file whose staged records would fill half of the next goes by way of LevelDB', async () => {
    await withJournal({ journalMaxBytes: 2_000 }, async (spool, { watch }) => {
      // nothing is taken: everything stays staged, soon more than a checkpoint may carry
      for (let i = 0; i < 60; i++) await spool.append([record(i)]);
      assert.ok(queued(watch).length > 0, 'records went to LevelDB');
      assert.equal(spool.stats().records, 60);
    });
  });

  it('a crash keeps acknowledged records in the journal: the next open replays them, acks included', async () => {
    for (const sync of [true, false]) {
      await withJournal({}, async (spool, { dir }) => {
        await spool.append([record(0), record(1), record(2)], [], { sync });
        const taken = await spool.take(2, BIG);
        await spool.ack([taken[0]]);
        await spool.append([record(3)], [], { sync });
        const copy = crashCopy(dir);
        try {
          assert.deepEqual(ids(await stored(copy)), [1, 2, 3], `sync ${sync}`);
          for (const name of JOURNAL_FILES) assert.equal(fs.statSync(path.join(copy, name)).size, 0, 'replayed once');
        } finally {
          fs.rmSync(copy, { recursive: true, force: true });
        }
      });
    }
  });

  it('replays the two files in generation order and ignores what follows the newest end', async () => {
    const dir = tempDir();
    try {
      const [a, b, c, d] = [1, 2, 3, 4].map((seq) => queueKey(seq, 1_000, 2));
      // file 1 holds the older generation; file 0 was reused by a newer one and still holds an older tail
      fs.writeFileSync(path.join(dir, JOURNAL_FILES[1]), encodeFrame(5, [{ type: 'put', key: a, value: '"a"' }]));
      fs.writeFileSync(
        path.join(dir, JOURNAL_FILES[0]),
        Buffer.concat([
          encodeFrame(6, [
            { type: 'del', key: a },
            { type: 'put', key: b, value: '"b"' },
          ]),
          encodeFrame(6, [{ type: 'put', key: c, value: '"c"' }]),
          encodeFrame(4, [{ type: 'put', key: d, value: '"d"' }]),
        ]),
      );
      const spool = await openSpool({ syncIntervalMs: SYNC_MS, maxBytes: BIG, path: dir });
      const items = await spool.take(10, BIG);
      await spool.close();
      assert.deepEqual(
        items.map((item) => item.value),
        ['"b"', '"c"'],
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
