// the behavioural suite of the spool, run against every store (memory-level and classic-level).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SpoolClosedError, SpoolFullError, StorageError } from '../../src/errors.js';
import { META_KEY } from '../../src/spool/keys.js';
import { openSpool, type SpoolOptions } from '../../src/spool/spool.js';
import type { Spool, SpoolItem } from '../../src/spool/types.js';
import { isSettled, watchBatches, within, type StoreKind } from './helpers.js';
import { sectionDefaults } from '../../src/config/sections.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

const BIG = 1 << 30;

function record(i: number, pad = 0): string {
  return JSON.stringify({ message: `event ${i}`, pad: 'x'.repeat(pad) });
}

function ids(items: SpoolItem[]): number[] {
  return items.map((item) => Number((JSON.parse(item.value) as { message: string }).message.split(' ')[1]));
}

async function takeAll(spool: Spool, expected: number): Promise<SpoolItem[]> {
  const out: SpoolItem[] = [];
  while (out.length < expected) out.push(...(await within(spool.take(1000, BIG), 10_000, 'take')));
  return out;
}

export function behaviourSuite(kind: StoreKind): void {
  // what these tests watch is LevelDB's batches; with the journal in front, journal.test.ts checks the same
  const batches = { skip: kind.journaled ? 'about LevelDB batches: see journal.test.ts' : false };
  describe(`spool on ${kind.name}`, () => {
    async function withSpool(
      options: Partial<SpoolOptions>,
      body: (
        spool: Spool,
        ctx: { reopen: (o?: Partial<SpoolOptions>) => Promise<Spool>; watch: ReturnType<typeof watchBatches> },
      ) => Promise<void>,
    ): Promise<void> {
      const store = await kind.create();
      const opened: Spool[] = [];
      const open = async (o: Partial<SpoolOptions> = {}) => {
        const db = store.db();
        watch = watchBatches(db);
        const spool = await openSpool({
          syncIntervalMs: SYNC_MS,
          maxBytes: BIG,
          journalDir: store.journalDir,
          ...options,
          ...o,
          db,
        });
        opened.push(spool);
        return spool;
      };
      let watch!: ReturnType<typeof watchBatches>;
      try {
        const spool = await open();
        await body(spool, {
          reopen: async (o) => {
            await opened[opened.length - 1].close();
            return open(o);
          },
          get watch() {
            return watch;
          },
        });
      } finally {
        for (const spool of opened) await spool.close();
        await store.cleanup();
      }
    }

    it('takes records in append order, across sequential and concurrent appends', async () => {
      await withSpool({}, async (spool) => {
        await spool.append([record(0), record(1)]);
        await spool.append([record(2)]);
        await Promise.all([3, 4, 5, 6, 7].map((i) => spool.append([record(i)])));
        await spool.append([record(8), record(9)]);
        const items = await takeAll(spool, 10);
        assert.deepEqual(ids(items), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        const keys = items.map((item) => item.key);
        assert.deepEqual([...keys].sort(), keys, 'keys sort in append order');
        for (const item of items) assert.equal(item.bytes, Buffer.byteLength(item.value));
        assert.equal(new Set(keys).size, 10);
      });
    });

    it('group-commits concurrent appends into fewer synced batches', batches, async () => {
      await withSpool({}, async (spool, ctx) => {
        await Promise.all(Array.from({ length: 100 }, (_, i) => spool.append([record(i)])));
        const burst = ctx.watch.calls.length;
        assert.ok(burst >= 1 && burst < 100, `100 concurrent appends took ${burst} batches`);
        for (const call of ctx.watch.calls) assert.equal(call.options.sync, true, 'every batch is synced');

        // 10 callers, each appending 20 times in a row: about one batch per round, not one per append
        ctx.watch.calls.length = 0;
        await Promise.all(
          Array.from({ length: 10 }, async (_, c) => {
            for (let n = 0; n < 20; n++) await spool.append([record(1000 + c * 100 + n)]);
          }),
        );
        const looped = ctx.watch.calls.length;
        assert.ok(looped < 100, `200 appends from 10 callers took ${looped} batches`);
        assert.equal(spool.stats().records, 300);
        assert.equal((await takeAll(spool, 300)).length, 300);
      });
    });

    it('take respects maxItems and maxBytes, but returns at least one record', async () => {
      await withSpool({}, async (spool) => {
        const small = record(0, 10);
        const size = Buffer.byteLength(small);
        await spool.append([record(0, 10), record(1, 10), record(2, 10), record(3, 5000), record(4, 10)]);
        assert.deepEqual(ids(await spool.take(2, BIG)), [0, 1]);
        assert.deepEqual(ids(await spool.take(10, size)), [2], 'stops before going over maxBytes');
        assert.deepEqual(ids(await spool.take(10, 100)), [3], 'one oversize record alone');
        assert.deepEqual(ids(await spool.take(10, BIG)), [4]);
        assert.equal(spool.stats().inFlight, 5);
      });
    });

    it('take waits for records, and resolves [] on abort and on close', async () => {
      await withSpool({}, async (spool) => {
        const waiting = spool.take(10, BIG);
        assert.equal(await isSettled(waiting), false);
        await spool.append([record(7)]);
        assert.deepEqual(ids(await within(waiting)), [7]);

        const controller = new AbortController();
        const aborted = spool.take(10, BIG, controller.signal);
        controller.abort();
        assert.deepEqual(await within(aborted), []);

        // a taker queued behind a waiting one still honours its own abort
        const first = spool.take(10, BIG);
        const queued = new AbortController();
        const second = spool.take(10, BIG, queued.signal);
        queued.abort();
        assert.deepEqual(await within(second), []);
        await spool.append([record(8)]);
        assert.deepEqual(ids(await within(first)), [8]);

        const closing = spool.take(10, BIG);
        await spool.close();
        assert.deepEqual(await within(closing), []);
        assert.deepEqual(await spool.take(10, BIG), []);
      });
    });

    it('concurrent takers get distinct records', async () => {
      await withSpool({}, async (spool) => {
        const takers = [spool.take(3, BIG), spool.take(3, BIG), spool.take(3, BIG)];
        await spool.append(Array.from({ length: 9 }, (_, i) => record(i)));
        const got = (await within(Promise.all(takers))).flat();
        assert.deepEqual(
          ids(got).sort((a, b) => a - b),
          [0, 1, 2, 3, 4, 5, 6, 7, 8],
        );
      });
    });

    it('refuses appends at the byte bound, writes nothing of them, and wakes waitForSpace after ack', async () => {
      const one = record(0, 100);
      const size = Buffer.byteLength(one);
      await withSpool({ maxBytes: size * 3 }, async (spool, ctx) => {
        await spool.append([record(0, 100), record(1, 100)]);
        assert.equal(spool.hasSpace(), true);
        // starts below the bound: accepted even though it ends above it
        await spool.append([record(2, 100), record(3, 100)]);
        assert.equal(spool.hasSpace(), false);
        const before = ctx.watch.calls.length;
        await assert.rejects(spool.append([record(4, 100)]), SpoolFullError);
        assert.equal(ctx.watch.calls.length, before, 'a refused append writes nothing');
        assert.deepEqual(spool.stats().records, 4);
        assert.equal(spool.stats().bytes, size * 4);

        // state is never refused
        await spool.append([], [{ type: 'put', key: 'cursor', value: 'c1' }]);
        await spool.putState([{ type: 'put', key: 'other', value: 'o1' }]);
        assert.equal(await spool.getState('cursor'), 'c1');

        const space = spool.waitForSpace();
        assert.equal(await isSettled(space), false);
        const taken = await spool.take(2, BIG);
        await spool.ack(taken);
        await within(space, 10_000, 'waitForSpace');
        assert.equal(spool.hasSpace(), true);
        assert.equal(spool.stats().bytes, size * 2);
        await spool.append([record(5, 100)]);
        assert.deepEqual(ids(await spool.take(10, BIG)), [2, 3, 5]);
      });
    });

    it('counts appends queued for the writer against the bound', async () => {
      const size = Buffer.byteLength(record(0, 100));
      await withSpool({ maxBytes: size * 2 }, async (spool) => {
        const results = await Promise.allSettled([0, 1, 2, 3].map((i) => spool.append([record(i, 100)])));
        assert.deepEqual(
          results.map((r) => r.status),
          ['fulfilled', 'fulfilled', 'rejected', 'rejected'],
        );
        assert.equal(spool.stats().records, 2);
      });
    });

    it('waitForSpace resolves on abort and on close', async () => {
      await withSpool({ maxBytes: 10 }, async (spool) => {
        await spool.append([record(0, 20)]);
        const controller = new AbortController();
        const aborted = spool.waitForSpace(controller.signal);
        controller.abort();
        await within(aborted);
        const closing = spool.waitForSpace();
        await spool.close();
        await within(closing);
      });
    });

    it(
      'ack deletes without fsync (a process crash keeps it); acked records do not come back after reopen',
      batches,
      async () => {
        await withSpool({}, async (spool, ctx) => {
          await spool.append([record(0), record(1), record(2), record(3)]);
          const taken = await spool.take(10, BIG);
          await spool.ack([taken[1], taken[3]]);
          const last = ctx.watch.calls[ctx.watch.calls.length - 1];
          assert.deepEqual(
            last.ops.filter((op) => op.type === 'del').map((op) => op.key),
            [taken[1].key, taken[3].key],
          );
          assert.equal(last.options.sync, false, 'an ack alone is not fsynced');
          assert.deepEqual(spool.stats().records, 2);
          assert.equal(spool.stats().inFlight, 2);
          // acking twice counts once; a key that is not a queued record is left alone
          await spool.putState([{ type: 'put', key: 'cursor', value: 'c' }]);
          await spool.ack([taken[1], { key: 's!cursor', value: 'c', bytes: 1 }]);
          assert.deepEqual(spool.stats().records, 2);
          assert.equal(await spool.getState('cursor'), 'c');
          const again = await ctx.reopen();
          assert.equal(again.stats().records, 2);
          assert.deepEqual(ids(await again.take(10, BIG)), [0, 2]);
        });
      },
    );

    it(
      'appends with { sync: false } are written without fsync, then synced once by the background sync',
      batches,
      async () => {
        await withSpool({ syncIntervalMs: 20 }, async (spool, ctx) => {
          ctx.watch.calls.length = 0;
          for (let i = 0; i < 3; i++) await spool.append([record(i)], [], { sync: false });
          const written = ctx.watch.calls.filter((c) => c.ops.some((op) => op.key !== META_KEY));
          assert.equal(written.length, 3);
          for (const call of written) assert.equal(call.options.sync, false, 'acknowledged once written, not fsynced');
          assert.notEqual(spool.stats().unsyncedSince, null, 'the spool knows it holds unsynced writes');
          // the timer fires the background sync: wait for it to be written (a hang guard, not a timing assertion)
          await within(
            (async () => {
              while (spool.stats().backgroundSyncs === 0) await new Promise((r) => setTimeout(r, 5));
            })(),
            10_000,
            'the background sync',
          );
          const syncs = ctx.watch.calls.filter((c) => c.options.sync === true);
          assert.equal(syncs.length, 1, 'one synced write covers the three appends');
          assert.ok(
            ctx.watch.calls.indexOf(syncs[0]) > ctx.watch.calls.indexOf(written[2]),
            'the sync comes after them',
          );
          assert.deepEqual(
            syncs[0].ops.filter((op) => op.key !== META_KEY),
            [],
            'the background sync writes no record of its own',
          );
          assert.equal(spool.stats().unsyncedSince, null);
          assert.equal(spool.stats().backgroundSyncs, 1);
          assert.deepEqual(ids(await takeAll(spool, 3)), [0, 1, 2]);
        });
      },
    );

    it('a synced write makes earlier unsynced appends durable: no background sync is needed then', async () => {
      await withSpool({ syncIntervalMs: 30 }, async (spool, ctx) => {
        await spool.append([record(0)], [], { sync: false });
        await spool.append([record(1)]);
        assert.equal(spool.stats().unsyncedSince, null);
        const before = ctx.watch.calls.length;
        await new Promise((r) => setTimeout(r, 150));
        assert.equal(ctx.watch.calls.length, before, 'no write after the synced one');
        assert.equal(spool.stats().backgroundSyncs, 0);
      });
    });

    it('the background sync waits the interval it is given (ingest.sync-interval), not one of its own', async () => {
      await withSpool({ syncIntervalMs: 60_000 }, async (spool) => {
        await spool.append([record(0)], [], { sync: false });
        // several times the default interval: a spool keeping its own would have synced by now
        await new Promise((r) => setTimeout(r, 5 * SYNC_MS));
        assert.equal(spool.stats().backgroundSyncs, 0);
        assert.notEqual(spool.stats().unsyncedSince, null);
      });
    });

    it('appends carrying state sync even when asked not to; close syncs what is not yet synced', batches, async () => {
      await withSpool({ syncIntervalMs: 60_000 }, async (spool, ctx) => {
        await spool.append([record(0)], [{ type: 'put', key: 'cursor', value: 'c1' }], { sync: false });
        assert.equal(ctx.watch.calls[ctx.watch.calls.length - 1].options.sync, true, 'a cursor is always synced');
        await spool.append([record(1)], [], { sync: false });
        assert.equal(ctx.watch.calls[ctx.watch.calls.length - 1].options.sync, false);
        const before = ctx.watch.calls.length;
        await spool.close();
        const after = ctx.watch.calls.slice(before);
        assert.equal(after.length, 1, 'one write at close');
        assert.equal(after[0].options.sync, true, 'close syncs the unsynced append before closing the store');
        const again = await ctx.reopen();
        assert.deepEqual(ids(await takeAll(again, 2)), [0, 1]);
      });
    });

    it('dead-letters in one batch, lists, replays at the tail and purges by time', async () => {
      let clock = 1_000_000;
      await withSpool({ now: () => clock }, async (spool, ctx) => {
        await spool.append([record(0), record(1), record(2), record(3)]);
        const taken = await spool.take(10, BIG);
        ctx.watch.calls.length = 0;
        await spool.deadLetter([taken[0], taken[1]], 'datadog said 400: bad log', 400);
        assert.equal(ctx.watch.calls.length, 1, 'one batch');
        const ops = ctx.watch.calls[0].ops;
        assert.deepEqual(
          ops.filter((op) => op.type === 'del').map((op) => op.key),
          [taken[0].key, taken[1].key],
        );
        assert.equal(ops.filter((op) => op.type === 'put' && op.key.startsWith('d!')).length, 2);
        let stats = spool.stats();
        assert.equal(stats.records, 2);
        assert.equal(stats.deadLetters, 2);

        clock = 2_000_000;
        await spool.deadLetter([taken[2]], 'too large', null);
        const dead = await spool.listDead();
        assert.deepEqual(
          dead.map((d) => ({ reason: d.reason, status: d.status, at: d.at, value: d.value })),
          [
            { reason: 'datadog said 400: bad log', status: 400, at: 1_000_000, value: taken[0].value },
            { reason: 'datadog said 400: bad log', status: 400, at: 1_000_000, value: taken[1].value },
            { reason: 'too large', status: null, at: 2_000_000, value: taken[2].value },
          ],
        );
        assert.deepEqual(
          (await spool.listDead({ limit: 1, after: dead[0].key })).map((d) => d.key),
          [dead[1].key],
        );

        // replay one by key: back at the tail, with a new key after every queued one
        await spool.append([record(4)]);
        assert.equal(await spool.replayDead([dead[1].key, 'd!nonexistent']), 1);
        stats = spool.stats();
        assert.equal(stats.deadLetters, 2);
        assert.equal(stats.records, 3);
        const next = await spool.take(10, BIG);
        assert.deepEqual(ids(next), [4, 1]);
        assert.ok(next[1].key > next[0].key && next[1].key > taken[3].key);

        // purge the ones dead-lettered before 1.5M: only the first remains to purge
        assert.equal(await spool.purgeDead(1_500_000), 1);
        assert.deepEqual(
          (await spool.listDead()).map((d) => d.reason),
          ['too large'],
        );
        assert.equal(await spool.replayDead(), 1);
        assert.equal(spool.stats().deadLetters, 0);
        assert.deepEqual(ids(await spool.take(10, BIG)), [2]);

        const again = await ctx.reopen();
        assert.equal(again.stats().deadLetters, 0);
        assert.deepEqual(ids(await takeAll(again, 4)), [3, 4, 1, 2]);
      });
    });

    it('replay-all and purge work across many pages', async () => {
      await withSpool({}, async (spool) => {
        await spool.append(Array.from({ length: 2500 }, (_, i) => record(i)));
        const taken = await takeAll(spool, 2500);
        await spool.deadLetter(taken, 'refused', 400);
        assert.equal(spool.stats().deadLetters, 2500);
        assert.equal(await spool.replayDead(), 2500);
        assert.equal(spool.stats().deadLetters, 0);
        const back = await takeAll(spool, 2500);
        assert.deepEqual(
          ids(back),
          Array.from({ length: 2500 }, (_, i) => i),
        );
        await spool.deadLetter(back, 'refused again', 400);
        assert.equal(await spool.purgeDead(Date.now() + 1000), 2500);
        assert.equal(spool.stats().deadLetters, 0);
        assert.equal(spool.stats().records, 0);
      });
    });

    it('replay-all takes only the dead letters there were when it began, and stops when the spool is full', async () => {
      const value = record(0);
      const size = Buffer.byteLength(value);
      // room for 1500 records, 1000 queued: a replay of 2500 stops at the bound (a page may cross it, as an append can)
      await withSpool({ maxBytes: size * 1500 }, async (spool) => {
        await spool.append(Array.from({ length: 1000 }, (_, i) => record(i)));
        await spool.deadLetter(await takeAll(spool, 1000), 'refused', 400);
        await spool.append(Array.from({ length: 1000 }, (_, i) => record(1000 + i)));
        await spool.deadLetter(await takeAll(spool, 1000), 'refused', 400);
        await spool.append(Array.from({ length: 500 }, (_, i) => record(2000 + i)));
        await spool.deadLetter(await takeAll(spool, 500), 'refused', 400);
        await spool.append(Array.from({ length: 1000 }, (_, i) => record(3000 + i)));
        assert.equal(spool.stats().deadLetters, 2500);
        const replayed = await spool.replayDead();
        assert.ok(replayed > 0 && replayed < 2500, `replay stopped at the bound after ${replayed}`);
        assert.equal(spool.stats().deadLetters, 2500 - replayed);
        assert.equal(spool.hasSpace(), false);
        // at most one page past the bound
        assert.ok(spool.stats().bytes < size * 1500 + size * 1000);
      });
      await withSpool({}, async (spool) => {
        await spool.append(Array.from({ length: 2500 }, (_, i) => record(i)));
        await spool.deadLetter(await takeAll(spool, 2500), 'refused', 400);
        // a sink that dead-letters what comes back while the replay runs: those wait for the next replay
        const refuseAgain = (async () => {
          let seen = 0;
          while (seen < 2500) {
            const back = await spool.take(1000, BIG);
            seen += back.length;
            await spool.deadLetter(back, 'refused again', 400);
          }
        })();
        assert.equal(await within(spool.replayDead(), 10_000, 'replay-all'), 2500, 'each dead letter replayed once');
        await within(refuseAgain);
        assert.equal(spool.stats().deadLetters, 2500);
      });
    });

    it('writes records and state in the same batch; state lists by prefix', async () => {
      await withSpool({}, async (spool, ctx) => {
        ctx.watch.calls.length = 0;
        await spool.append(
          [record(0), record(1)],
          [
            { type: 'put', key: 'teleport/cursor', value: 'abc' },
            { type: 'put', key: 'teleport/window', value: '2024-01-01' },
          ],
        );
        assert.equal(ctx.watch.calls.length, 1);
        const keys = ctx.watch.calls[0].ops.map((op) => op.key);
        assert.equal(keys.filter((k) => k.startsWith('q!')).length, 2);
        assert.ok(keys.includes('s!teleport/cursor') && keys.includes('s!teleport/window'));
        await spool.putState([{ type: 'put', key: 'other', value: '1' }]);
        assert.deepEqual(await spool.listState('teleport/'), [
          { key: 'teleport/cursor', value: 'abc' },
          { key: 'teleport/window', value: '2024-01-01' },
        ]);
        await spool.putState([{ type: 'del', key: 'teleport/window' }]);
        assert.equal(await spool.getState('teleport/window'), undefined);
        assert.equal(await spool.getState('nothing'), undefined);
        const again = await ctx.reopen();
        assert.equal(await again.getState('teleport/cursor'), 'abc');
        assert.deepEqual(await again.listState(''), [
          { key: 'other', value: '1' },
          { key: 'teleport/cursor', value: 'abc' },
        ]);
      });
    });

    it('a failed write rejects its callers, counts nothing, and the spool works again afterwards', async () => {
      await withSpool({}, async (spool, ctx) => {
        await spool.append([record(0)]);
        ctx.watch.fail = 'before';
        const failed = await Promise.allSettled([
          spool.append([record(1)], [{ type: 'put', key: 'cursor', value: 'lost' }]),
          spool.append([record(2)]),
        ]);
        for (const r of failed) {
          assert.equal(r.status, 'rejected');
          assert.ok((r as PromiseRejectedResult).reason instanceof StorageError);
          assert.match(String((r as PromiseRejectedResult).reason.message), /nothing of this write was acknowledged/);
        }
        assert.equal(spool.stats().records, 1);
        assert.equal(spool.hasSpace(), true);
        ctx.watch.fail = null;
        await spool.append([record(3)]);
        assert.equal(spool.stats().records, 2);
        assert.equal(await spool.getState('cursor'), undefined);
        assert.deepEqual(ids(await spool.take(10, BIG)), [0, 3]);
      });
    });

    it('a write reported failed that landed after all is counted once and taken once', batches, async () => {
      await withSpool({}, async (first0, ctx) => {
        await first0.append([record(0)]);
        // reopened: the reader starts behind, reading what is on disk
        const spool = await ctx.reopen();
        ctx.watch.fail = 'after';
        await assert.rejects(spool.append([record(1)]), StorageError);
        ctx.watch.fail = null;
        // the reader finds it on disk before the spool learns that it landed
        const first = await spool.take(10, BIG);
        assert.deepEqual(ids(first), [0, 1]);
        await spool.append([record(2)]);
        assert.equal(spool.stats().records, 3);
        const second = await spool.take(10, BIG);
        assert.deepEqual(ids(second), [2]);
        const items = [...first, ...second];
        await spool.ack(items);
        assert.equal(spool.stats().records, 0);
        assert.equal(spool.stats().bytes, 0);
      });
    });

    it('close finishes queued writes, then refuses with SpoolClosedError', async () => {
      await withSpool({}, async (spool, ctx) => {
        const pending = [
          spool.append([record(0)]),
          spool.append([record(1)]),
          spool.putState([{ type: 'put', key: 'k', value: 'v' }]),
        ];
        await spool.close();
        await Promise.all(pending);
        await assert.rejects(spool.append([record(2)]), SpoolClosedError);
        await assert.rejects(spool.putState([{ type: 'put', key: 'k', value: 'w' }]), SpoolClosedError);
        await spool.close();
        const again = await ctx.reopen();
        assert.equal(again.stats().records, 2);
        assert.equal(await again.getState('k'), 'v');
      });
    });

    it('serves a reader that falls behind the in-memory tail from the store, in order, exactly once', async () => {
      await withSpool({ tailMaxBytes: 2000 }, async (spool) => {
        const total = 3000;
        const producer = (async () => {
          for (let i = 0; i < total; i += 10) {
            await spool.append(Array.from({ length: 10 }, (_, j) => record(i + j, 30)));
            if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
          }
        })();
        const seen: number[] = [];
        while (seen.length < total) {
          const items = await within(spool.take(37, 4000), 10_000, 'take');
          seen.push(...ids(items));
          // out of order: odd positions first
          await spool.ack(items.filter((_, i) => i % 2 === 1));
          await spool.ack(items.filter((_, i) => i % 2 === 0));
        }
        await producer;
        assert.deepEqual(
          seen,
          Array.from({ length: total }, (_, i) => i),
        );
        assert.equal(spool.stats().records, 0);
        assert.equal(spool.stats().inFlight, 0);
        assert.equal(spool.stats().oldestAppendedAt, null);
      });
    });

    it('serves records appended after the reader caught up from memory, without reading the store', async () => {
      await withSpool({}, async (spool, ctx) => {
        await spool.append([record(0)]);
        await spool.ack(await spool.take(10, BIG));
        const reads = ctx.watch.iterators;
        for (let i = 1; i <= 50; i++) {
          const waiting = spool.take(10, BIG);
          await spool.append([record(i)]);
          const items = await within(waiting);
          assert.deepEqual(ids(items), [i]);
          await spool.ack(items);
        }
        assert.equal(ctx.watch.iterators, reads, 'no store reads for records still in the tail');
      });
    });

    it('reports the oldest undelivered append time, also after reopen', async () => {
      let clock = 5000;
      await withSpool({ now: () => clock }, async (spool, ctx) => {
        assert.equal(spool.stats().oldestAppendedAt, null);
        await spool.append([record(0)]);
        clock = 6000;
        await spool.append([record(1), record(2)]);
        clock = 7000;
        assert.equal(spool.stats().oldestAppendedAt, 5000);
        const first = await spool.take(1, BIG);
        assert.equal(spool.stats().oldestAppendedAt, 5000, 'in flight still counts');
        await spool.ack(first);
        assert.equal(spool.stats().oldestAppendedAt, 6000);

        const again = await ctx.reopen({ now: () => 9000 });
        assert.equal(again.stats().oldestAppendedAt, 6000);
        await again.ack(await takeAll(again, 2));
        assert.equal(again.stats().oldestAppendedAt, null);
        await again.append([record(3)]);
        assert.equal(again.stats().oldestAppendedAt, 9000);
      });
    });

    it('recovers counts, bytes, and the sequence after reopen, even when the queue was drained', async () => {
      await withSpool({}, async (spool, ctx) => {
        const values = [record(0, 10), record(1, 20), record(2, 30)];
        await spool.append(values);
        const taken = await spool.take(1, BIG);
        await spool.ack(taken);
        const lastKey = (await spool.take(10, BIG))[1].key;

        let again = await ctx.reopen();
        assert.deepEqual(again.stats(), {
          records: 2,
          bytes: Buffer.byteLength(values[1]) + Buffer.byteLength(values[2]),
          maxBytes: BIG,
          inFlight: 0,
          deadLetters: 0,
          oldestAppendedAt: again.stats().oldestAppendedAt,
          walDamage: null,
          walDamageKept: [],
          unsyncedSince: null,
          syncs: 0,
          backgroundSyncs: 0,
        });
        const retaken = await again.take(10, BIG);
        assert.deepEqual(ids(retaken), [1, 2], 'taken but unacked records are taken again');
        await again.append([record(3)]);
        const [fresh] = await again.take(10, BIG);
        assert.ok(fresh.key > lastKey, 'the sequence continues');
        await again.ack([...retaken, fresh]);

        again = await ctx.reopen();
        assert.equal(again.stats().records, 0);
        await again.append([record(4)]);
        const [afterDrain] = await again.take(10, BIG);
        assert.ok(afterDrain.key > fresh.key, 'the sequence continues after the queue was drained');
      });
    });
  });
}
