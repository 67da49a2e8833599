// the storage runs out of space or stops being writable under load. real file system conditions, which need root:
// a small tmpfs mounted for the test (filled with a file until ENOSPC), and chattr +i (immutable) on the storage
// directory, which tmpfs supports since linux 6.0. without them the cases skip and say why.
// expected: a 5xx to the client for what could not be stored (never a 200), no crash, no corruption, and recovery
// when space (or write access) returns; every record answered 200 is delivered, after a restart at the latest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../helpers/forwarder.js';
import { createRig, figures, startLoad, statusLine, tally, waitDelivered } from '../helpers/load.js';
import { cliCommand } from '../helpers/paths.js';

const API_KEY = 'diskfl0123456789abcdef0123456789';

/** a tmpfs of `size` at a new directory, or why not */
function mountTmpfs(size: string): { dir: string; unmount(): void } | { skip: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-tmpfs-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return {
      skip: `cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN): ${(r.stderr || r.error?.message || '').trim()}`,
    };
  }
  return {
    dir,
    unmount() {
      spawnSync('chattr', ['-R', '-i', dir]);
      spawnSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** writes a file until the file system is full; returns its path and size */
function fillUp(dir: string): { file: string; bytes: number } {
  const file = join(dir, 'filler');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x66);
  let bytes = 0;
  try {
    for (;;) {
      try {
        bytes += writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
    // the last partial page too
    for (let n = 4096; n >= 1; n = Math.floor(n / 2)) {
      try {
        for (;;) bytes += writeSync(fd, chunk.subarray(0, n));
      } catch {
        // full at this granularity
      }
    }
  } finally {
    closeSync(fd);
  }
  return { file, bytes };
}

function chattr(flag: '+i' | '-i', path: string): string | null {
  const r = spawnSync('chattr', [flag, path], { encoding: 'utf8' });
  return r.status === 0 ? null : (r.stderr || r.error?.message || 'chattr failed').trim();
}

test(
  'disk full (tmpfs) under load: 5xx, never 200 for what was not stored; recovery when space returns',
  { timeout: 150_000 },
  async (t) => {
    const fs = mountTmpfs('16m');
    if ('skip' in fs) return t.skip(fs.skip);
    t.after(() => fs.unmount());
    const storage = join(fs.dir, 'storage');
    const rig = await createRig(t, { apiKey: API_KEY, storage, datadog: 'batch-max-entries = 200' });
    const fw = await rig.start();
    const bodies = new Map<string, string>();
    const load = startLoad({
      port: fw.port!,
      tls: rig.tls,
      prefix: 'disk',
      connections: 8,
      padBytes: 200,
      pauseMs: 2,
      onResult: (id, r) => {
        if (!(r instanceof Error) && r.status >= 500) bodies.set(String(r.status), r.body);
      },
    });
    // a failing assertion must not leave the load posting forever
    t.after(() => load.stop());
    await waitFor(() => load.acked.size >= 300, 'traffic flowing');

    const filler = fillUp(fs.dir);
    await waitFor(
      () => [...load.statuses.keys()].some((s) => s.startsWith('5')),
      'the ingest refuses what it cannot store',
      60_000,
    );
    const ackedAtFull = load.acked.size;
    await sleep(3000);
    const ackedWhileFull = load.acked.size - ackedAtFull;
    const fivexx = [...load.statuses.entries()].filter(([s]) => s.startsWith('5')).reduce((n, [, v]) => n + v, 0);
    assert.equal(fw.proc.exitCode, null, 'still running');

    unlinkSync(filler.file);
    await waitFor(
      () => load.acked.size >= ackedAtFull + ackedWhileFull + 500,
      'accepting again once space returned',
      60_000,
    );
    await load.stop();
    await waitDelivered(load.acked, rig.counts, 'after space returned', 60_000);
    // reported: records delivered while their ack could not be written stay counted (in flight) until a restart
    await waitFor(
      async () => (await fw.getJson('/status')).spool.records === 0,
      'spool drained without a restart',
      10_000,
    ).catch(() => {});
    const beforeRestart = (await fw.getJson('/status')).spool;
    assert.equal(await fw.stop(), 0, 'a clean stop');
    const logged = fw.logs.filter((l) => l.msg === 'spool write failed; its callers got an error').length;

    // a restart on the same storage: it opens (no corruption) and delivers whatever it still held
    const again = await rig.start();
    await waitFor(async () => (await again.getJson('/status')).spool.records === 0, 'spool drained after the restart');
    assert.equal(await again.stop(), 0);
    const tl = tally(load.acked, rig.counts);
    t.diagnostic(
      figures('disk full (tmpfs ENOSPC)', tl, {
        filler_bytes: filler.bytes,
        spool_records_before_restart: beforeRestart.records,
        in_flight_before_restart: beforeRestart.inFlight,
        answered_5xx: fivexx,
        acked_while_full: ackedWhileFull,
        failed_writes_logged: logged,
        statuses: statusLine(load.statuses),
      }),
    );
    assert.deepEqual(tl.lost, []);
    // the failed writes are the journal's (LevelDB is only reopened when a write of its own failed)
    assert.ok(logged > 0, 'the write failure was logged');
    // every failed group commit used to log a line (2,058 in 3 s): now one a second, with the count folded in
    const folded = fw.logs.reduce(
      (n, l) =>
        n + (l.msg === 'spool write failed; its callers got an error' ? Number(l.failedWritesNotLogged ?? 0) : 0),
      0,
    );
    t.diagnostic(`failed-write lines: ${logged}, failures folded into them: ${folded}`);
    assert.ok(logged <= 20, `the failure log is rate limited (${logged} lines)`);
    const why = fw.logs.find((l) => l.msg === 'spool write failed; its callers got an error');
    assert.match(JSON.stringify(why), /No space left on device|ENOSPC/i);
    for (const [status, body] of bodies) assert.match(`${status} ${body}`, /^50[03] /, 'a 5xx with our error body');
    assert.equal(load.statuses.get('error') ?? 0, 0, 'every post got an answer, no dropped connection');
  },
);

test(
  'storage directory made immutable (chattr +i) under load: 5xx until writable again, then recovery',
  { timeout: 150_000 },
  async (t) => {
    const fs = mountTmpfs('64m');
    if ('skip' in fs) return t.skip(fs.skip);
    t.after(() => fs.unmount());
    const storage = join(fs.dir, 'storage');
    mkdirSync(storage);
    const probe = chattr('+i', storage);
    if (probe !== null) return t.skip(`chattr +i is not supported here: ${probe}`);
    chattr('-i', storage);
    const rig = await createRig(t, { apiKey: API_KEY, storage, datadog: 'batch-max-entries = 200' });
    const fw = await rig.start();
    const load = startLoad({ port: fw.port!, tls: rig.tls, prefix: 'immutable', connections: 8, padBytes: 1500 });
    // a failing assertion must not leave the load posting forever
    t.after(() => load.stop());
    await waitFor(() => load.acked.size >= 300, 'traffic flowing');
    // existing files stay writable, the journal's included: while the sink keeps up, records never reach leveldb.
    // with the intake down they pile up, go to leveldb, and the first new file it needs (a new log once the 4 MiB
    // memtable is full) fails
    await rig.intake.setDown(true);
    assert.equal(chattr('+i', storage), null);
    await waitFor(
      () => [...load.statuses.keys()].some((s) => s.startsWith('5')),
      'the ingest refuses what it cannot store',
      90_000,
    );
    const ackedAtFail = load.acked.size;
    await sleep(3000);
    const ackedWhileImmutable = load.acked.size - ackedAtFail;
    assert.equal(fw.proc.exitCode, null, 'still running');
    assert.equal(chattr('-i', storage), null);
    await rig.intake.setDown(false);
    await waitFor(
      () => load.acked.size >= ackedAtFail + ackedWhileImmutable + 500,
      'accepting again once writable',
      60_000,
    );
    await load.stop();
    await waitDelivered(load.acked, rig.counts, 'after the directory was writable again', 60_000);
    await waitFor(
      async () => (await fw.getJson('/status')).spool.records === 0,
      'spool drained without a restart',
      10_000,
    ).catch(() => {});
    const beforeRestart = (await fw.getJson('/status')).spool;
    assert.equal(await fw.stop(), 0);
    const again = await rig.start();
    await waitFor(async () => (await again.getJson('/status')).spool.records === 0, 'spool drained after the restart');
    assert.equal(await again.stop(), 0);
    const tl = tally(load.acked, rig.counts);
    const fivexx = [...load.statuses.entries()].filter(([s]) => s.startsWith('5')).reduce((n, [, v]) => n + v, 0);
    t.diagnostic(
      figures('storage dir immutable (chattr +i)', tl, {
        spool_records_before_restart: beforeRestart.records,
        in_flight_before_restart: beforeRestart.inFlight,
        answered_5xx: fivexx,
        acked_while_immutable: ackedWhileImmutable,
        statuses: statusLine(load.statuses),
      }),
    );
    assert.deepEqual(tl.lost, []);
    assert.equal(load.statuses.get('error') ?? 0, 0);
  },
);

test(
  'an immutable storage directory at start: exit 2 with a clear message, twice; starts once writable',
  { timeout: 60_000 },
  async (t) => {
    const fs = mountTmpfs('16m');
    if ('skip' in fs) return t.skip(fs.skip);
    t.after(() => fs.unmount());
    const storage = join(fs.dir, 'storage');
    const rig = await createRig(t, { apiKey: API_KEY, storage });
    // a storage with records in it, left by a stopped forwarder
    await rig.intake.setDown(true);
    const fw = await rig.start();
    const load = startLoad({ port: fw.port!, tls: rig.tls, prefix: 'kept', connections: 4, limit: 200 });
    // a failing assertion must not leave the load posting forever
    t.after(() => load.stop());
    await load.done;
    assert.equal(await fw.stop(), 0);
    const probe = chattr('+i', storage);
    if (probe !== null) return t.skip(`chattr +i is not supported here: ${probe}`);
    for (let run = 0; run < 2; run++) {
      const r = spawnSync(cliCommand[0]!, [...cliCommand.slice(1), 'start', '--config', rig.config], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, TDF_ADMIN_PORT: '0', ...rig.env },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(r.status, 2, `run ${run}: ${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(
          `^error: cannot open storage directory ${storage}: .*(Operation not permitted|Permission denied).*writable by this user`,
          'm',
        ),
      );
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      t.diagnostic(`run ${run}: exit ${r.status}: ${r.stderr.trim()}`);
    }
    assert.equal(chattr('-i', storage), null);
    await rig.intake.setDown(false);
    const again = await rig.start();
    await waitDelivered(load.acked, rig.counts, 'after the directory was writable again', 60_000);
    assert.equal(await again.stop(), 0);
    const tl = tally(load.acked, rig.counts);
    t.diagnostic(figures('immutable storage at start', tl));
    assert.deepEqual(tl.lost, []);
  },
);
