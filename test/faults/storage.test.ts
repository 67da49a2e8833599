// damaged storage and a second instance, through the cli. a storage directory written by the forwarder itself (the
// intake down, so records stay queued; started twice so the write-ahead log became a table file) is copied and
// damaged in one way per case; `start` must exit 2 with a message that says "corrupt" and what to do, the same on
// a second run (no crash loop, no hang). a damaged write-ahead log is not refused (leveldb replays what it can):
// the forwarder must say that records may be lost and keep the damaged log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../helpers/forwarder.js';
import { figures, startLoad, tally, waitDelivered, type Rig } from '../helpers/load.js';
import { cliCommand } from '../helpers/paths.js';
import { STORAGE_DAMAGES, damagedCopy, fileIn, overwrite, queuedStores } from '../helpers/storage-damage.js';

const API_KEY = 'storag0123456789abcdef0123456789';
const RECORDS = 2000;

let rig: Rig;
let acked: Set<string>;
/** a stopped forwarder's storage holding RECORDS queued records in a table file, and the same in a log file */
let tableStore: string;
let logStore: string;
const work = mkdtempSync(join(tmpdir(), 'tdf-damage-'));
const cleanups: Array<() => unknown> = [];

before(async () => {
  ({ rig, acked, logStore, tableStore } = await queuedStores({
    apiKey: API_KEY,
    records: RECORDS,
    work,
    after: (fn) => cleanups.push(fn),
  }));
});

after(async () => {
  for (const fn of cleanups.reverse()) await fn();
  rmSync(work, { recursive: true, force: true });
});

/** a copy of a store, damaged */
function damaged(from: string, name: string, damage: (dir: string) => void): string {
  return damagedCopy(from, join(work, name), damage);
}

function startOn(storage: string): { status: number | null; stderr: string; stdout: string; ms: number } {
  const began = Date.now();
  const r = spawnSync(cliCommand[0]!, [...cliCommand.slice(1), 'start', '--config', rig.config, '--storage', storage], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TDF_ADMIN_PORT: '0', ...rig.env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout, ms: Date.now() - began };
}

function expectCorrupt(t: { diagnostic(s: string): void }, storage: string, runs: number): void {
  for (let run = 0; run < runs; run++) {
    const r = startOn(storage);
    t.diagnostic(`run ${run}: exit ${r.status} after ${r.ms} ms: ${r.stderr.trim().slice(0, 300)}`);
    assert.equal(r.status, 2, `run ${run} exits 2 (not a crash, not a hang): ${r.stderr}`);
    assert.match(r.stderr, /^error: storage directory .* is corrupt \(LevelDB: /m);
    assert.match(r.stderr, /move the directory aside and start with an empty --storage/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
}

// each cli start costs seconds (tsx): two cases run twice (no crash loop), the others once. CURRENT deleted has a
// test of its own below: leveldb would not call it corrupt, it would start an empty store over it
const TWICE = new Set(['MANIFEST overwritten with garbage', 'table file (.ldb) overwritten in the middle']);
const cases = STORAGE_DAMAGES.filter((d) => d.name !== 'CURRENT deleted').map((d) => ({
  ...d,
  from: () => tableStore,
  runs: TWICE.has(d.name) ? 2 : 1,
}));

for (const c of cases) {
  const runs = c.runs;
  test(
    `damaged storage, ${c.name}: exit 2 with "corrupt"${runs > 1 ? ', the same twice' : ''}`,
    { timeout: 90_000 },
    (t) => {
      expectCorrupt(t, damaged(c.from(), c.name.replace(/\W+/g, '-'), c.damage), runs);
    },
  );
}

test(
  'CURRENT deleted: start exits 2 naming the newest manifest, and changes no file in the storage',
  { timeout: 90_000 },
  (t) => {
    const manifest = readFileSync(join(tableStore, 'CURRENT'), 'utf8').trim();
    const dir = damaged(tableStore, 'current-deleted', (d) => rmSync(join(d, 'CURRENT')));
    const before = readdirSync(dir)
      .sort()
      .map((f) => [f, readFileSync(join(dir, f)).toString('base64')]);
    const r = startOn(dir);
    t.diagnostic(`exit ${r.status} after ${r.ms} ms: ${r.stderr.trim().slice(0, 400)}`);
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      /^error: storage directory .* holds a LevelDB store .* but no CURRENT file; .* nothing in it was changed/m,
    );
    assert.ok(r.stderr.includes(`printf '${manifest}\\n' > ${join(dir, 'CURRENT')}`), r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(
      readdirSync(dir)
        .sort()
        .map((f) => [f, readFileSync(join(dir, f)).toString('base64')]),
      before,
    );
  },
);

test(
  'damaged write-ahead log (overwritten in the middle): an error says records may be lost, the damaged log is kept, status and metrics show it',
  { timeout: 90_000 },
  async (t) => {
    const storage = damaged(logStore, 'log-overwritten', (d) =>
      overwrite(
        fileIn(d, (f) => f.endsWith('.log')),
        100_000,
        4000,
      ),
    );
    const walSize = statSync(fileIn(logStore, (f) => f.endsWith('.log'))).size;
    let fw = await rig.start(['--storage', storage]);
    const status = await fw.getJson('/status');
    const metrics = (await fw.getText('/metrics')).text;
    assert.equal(await fw.stop(), 0);
    const said = fw.logs.find((l) => l.level === 'error' && /write-ahead log/.test(String(l.msg)));
    t.diagnostic(`started; spool holds ${status.spool.records} of ${RECORDS} acknowledged records; said: ${said?.msg}`);
    assert.ok(status.spool.records < RECORDS, 'the damage did cost records (else this case tests nothing)');
    assert.ok(said, 'an error-level log line about the write-ahead log');
    assert.match(
      String(said.msg),
      /LevelDB skipped \d+ bytes of its write-ahead log while opening \(.*Corruption: .*\); records acknowledged before the last stop may be lost/,
    );
    const kept = readdirSync(storage).filter((f) => f.startsWith('damaged-wal-'));
    assert.equal(kept.length, 1, `one damaged-wal directory in ${readdirSync(storage).join(', ')}`);
    assert.equal(
      statSync(join(storage, kept[0]!, readdirSync(join(storage, kept[0]!))[0]!)).size,
      walSize,
      'the damaged log kept whole',
    );
    assert.match(String(said.msg), new RegExp(`kept in ${join(storage, kept[0]!)}`));
    assert.ok(status.spool.walDamage.droppedBytes > 0);
    assert.ok(
      status.warnings.some((w: string) => /write-ahead log/.test(w)),
      `a status warning: ${JSON.stringify(status.warnings)}`,
    );
    assert.match(metrics, /^tdf_spool_wal_dropped_bytes [1-9]\d*$/m);
    assert.ok(!readdirSync(storage).includes('.wal-at-open'), 'no pending links left');
    // the cli on the stopped forwarder's storage says it too
    const cli = spawnSync(
      cliCommand[0]!,
      [...cliCommand.slice(1), 'spool', 'ls', '--dead', '--config', rig.config, '--storage', storage],
      {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, TDF_ADMIN_PORT: '0', ...rig.env },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(
      cli.stdout,
      /^! The spool's storage holds damaged write-ahead logs kept from an earlier start \(.*damaged-wal-.*\): records may have been lost then/m,
    );
    // the next start finds nothing new, but still points at what was kept: log, status warning, metric
    fw = await rig.start(['--storage', storage]);
    const again = await fw.getJson('/status');
    const againMetrics = (await fw.getText('/metrics')).text;
    assert.equal(await fw.stop(), 0);
    assert.equal(again.spool.walDamage, null);
    assert.ok(
      again.warnings.some((w: string) => /kept from an earlier start/.test(w)),
      JSON.stringify(again.warnings),
    );
    assert.match(againMetrics, /^tdf_spool_damaged_wal_kept 1$/m);
    assert.ok(!fw.logs.some((l) => l.level === 'error'), 'no new damage on the second start');
    assert.ok(
      fw.logs.some(
        (l) => l.level === 'warn' && /damaged write-ahead logs kept from an earlier start/.test(String(l.msg)),
      ),
    );
  },
);

test('undamaged write-ahead log: no damage reported, nothing kept', { timeout: 90_000 }, async () => {
  const storage = damaged(logStore, 'log-intact', () => {});
  const fw = await rig.start(['--storage', storage]);
  const status = await fw.getJson('/status');
  assert.equal(await fw.stop(), 0);
  assert.equal(status.spool.records, RECORDS);
  assert.equal(status.spool.walDamage, null);
  assert.ok(!fw.logs.some((l) => /write-ahead log/.test(String(l.msg))));
  assert.deepEqual(
    readdirSync(storage).filter((f) => f.startsWith('damaged-wal-') || f === '.wal-at-open'),
    [],
  );
});

test(
  'second instance on the same storage: refuses with a clear message, the first keeps serving',
  { timeout: 90_000 },
  async (t) => {
    // the undamaged original: the first instance delivers what it holds and takes new records
    await rig.intake.setDown(false);
    const first = await rig.start();
    const r = startOn(rig.storage);
    t.diagnostic(`second instance: exit ${r.status}: ${r.stderr.trim()}`);
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^error: storage directory ${rig.storage} is in use by another teleport-datadog-forwarder \\(LevelDB lock held\\); stop it or pick another --storage`,
        'm',
      ),
    );
    const load = startLoad({ port: first.port!, tls: rig.tls, prefix: 'after-second', connections: 4, limit: 500 });
    await load.done;
    for (const id of load.acked) acked.add(id);
    await waitDelivered(acked, rig.counts, 'the first instance delivers');
    await waitFor(async () => (await first.getJson('/status')).spool.records === 0, 'spool drained');
    assert.equal(await first.stop(), 0);
    const tl = tally(acked, rig.counts);
    t.diagnostic(figures('second instance refused', tl));
    assert.deepEqual(tl.lost, []);
  },
);
