// `spool repair` through the cli, on a real storage directory: a stopped forwarder's storage holding RECORDS queued
// records (the intake down; started twice so the write-ahead log became a table file) is copied and damaged in
// each way test/faults/storage.test.ts damages it (there `start` refuses with exit 2). the repair must copy the
// directory aside byte for byte first, then leave a store that `spool stats` reads and `start` delivers from; how
// many records survive is printed as a figures line. it must refuse a storage a forwarder has open, and a copy
// path that is taken, changing nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { StorageError } from '../../src/errors.js';
import { runSpool } from '../../src/cli/spool.js';
import { copyStorage, holdStorageLock } from '../../src/spool/repair.js';
import { REPAIR_MARKER } from '../../src/spool/storage-errors.js';
import { waitFor } from '../helpers/forwarder.js';
import { figures, tally, type Rig } from '../helpers/load.js';
import { cliCommand } from '../helpers/paths.js';
import { damagedCopy, queuedStores, STORAGE_DAMAGES, type StorageDamage } from '../helpers/storage-damage.js';

const API_KEY = 'repair0123456789abcdef0123456789';
const RECORDS = 2000;

let rig: Rig;
let acked: Set<string>;
/** a stopped forwarder's storage holding RECORDS queued records in a table file */
let tableStore: string;
const work = mkdtempSync(join(tmpdir(), 'tdf-repair-'));
const cleanups: Array<() => unknown> = [];

before(async () => {
  ({ rig, acked, tableStore } = await queuedStores({
    apiKey: API_KEY,
    records: RECORDS,
    work,
    after: (fn) => cleanups.push(fn),
  }));
  // what recovered() expects: every record in the one table file, none in the log
  const tables = readdirSync(tableStore).filter((f) => f.endsWith('.ldb'));
  assert.equal(tables.length, 1, `one table file: ${readdirSync(tableStore).join(', ')}`);
  for (const log of readdirSync(tableStore).filter((f) => f.endsWith('.log')))
    assert.equal(statSync(join(tableStore, log)).size, 0, log);
});

after(async () => {
  for (const fn of cleanups.reverse()) await fn();
  rmSync(work, { recursive: true, force: true });
});

interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** the cli as a user runs it; async, so the intake in this process keeps answering meanwhile */
function cli(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cliCommand[0]!, [...cliCommand.slice(1), ...args, '--config', rig.config], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TDF_ADMIN_PORT: '0', ...rig.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    proc.on('error', reject);
    proc.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** every file and directory under dir: mode, and a hash of the content */
function snapshot(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const file = join(dir, name);
    const st = lstatSync(file);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isDirectory()) {
      out[prefix + name] = `dir ${mode}`;
      Object.assign(out, snapshot(file, `${prefix}${name}/`));
    } else {
      out[prefix + name] = `${mode} ${createHash('sha256').update(readFileSync(file)).digest('hex')}`;
    }
  }
  return out;
}

/** the copies a repair made of dir */
function backupsOf(dir: string): string[] {
  return readdirSync(dirname(dir))
    .filter((n) => n.startsWith(`${basename(dir)}.before-repair-`))
    .map((n) => join(dirname(dir), n));
}

/**
 * what a repair can give back of the fixture, whose records all sit in one table file: every record while the
 * tables and logs are whole; none with that table gone or cut short (its index and footer are at the end); the
 * blocks it can still read when some in the middle are overwritten
 */
function recovered(c: StorageDamage): number | 'some' {
  if (c.tablesIntact) return RECORDS;
  return /overwritten/.test(c.name) ? 'some' : 0;
}

function recordsIn(statsOut: string): number {
  const m = /^records: (\d+) /m.exec(statsOut);
  assert.ok(m, `a records line in: ${statsOut}`);
  return Number(m[1]);
}

for (const c of STORAGE_DAMAGES) {
  test(
    `spool repair after ${c.name}: the directory copied as it was, then what survives is delivered`,
    { timeout: 180_000 },
    async (t) => {
      const dir = damagedCopy(tableStore, join(work, c.name.replace(/\W+/g, '-')), c.damage);
      const damagedFiles = snapshot(dir);
      const r = await cli(['spool', 'repair', '--storage', dir]);
      t.diagnostic(`repair: exit ${r.status}\n${r.stdout}${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');

      const backups = backupsOf(dir);
      assert.equal(backups.length, 1, `one copy beside ${dir}`);
      const backup = backups[0]!;
      assert.match(basename(backup), /\.before-repair-\d{8}T\d{6}Z$/);
      assert.deepEqual(
        snapshot(backup),
        damagedFiles,
        'the copy holds the damaged directory byte for byte, with its modes',
      );
      assert.ok((r.stdout + r.stderr).includes(backup), 'the output says where the copy is');

      if (r.status !== 0) {
        // a repair that cannot help must say why and where the copy is
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /^error: .*cannot be opened \(.+\).* the directory as it was before the repair is in /m);
        t.diagnostic(
          `figures: scenario=${JSON.stringify(`spool repair after ${c.name}`)} repaired=false recovered=0 of=${RECORDS}`,
        );
        assert.ok(!c.tablesIntact, 'a repair with every table and log whole succeeds');
        return;
      }
      assert.match(r.stdout, new RegExp(`^copied ${dir} as it was to ${backup}$`, 'm'));
      assert.ok(!existsSync(join(dir, REPAIR_MARKER)), 'the marker of a repair under way is gone once it finished');
      assert.ok(!existsSync(`${backup}.partial`), 'the copy was renamed to its final name');
      assert.match(r.stdout, /^dead letters: 0$/m);
      assert.match(r.stdout, /^teleport: no poller state stored$/m);
      assert.match(r.stdout, /^start the forwarder again/m);
      const reported = recordsIn(r.stdout);

      const stats = await cli(['spool', 'stats', '--storage', dir]);
      assert.equal(stats.status, 0, stats.stderr);
      const queued = recordsIn(stats.stdout);
      assert.equal(queued, reported, 'spool stats reads what the repair reported');

      // what the store holds now reaches the intake, once
      rig.counts.clear();
      await rig.intake.setDown(false);
      const fw = await rig.start(['--storage', dir]);
      try {
        await waitFor(
          async () => (await fw.getJson('/status')).spool.records === 0,
          'the repaired spool drained',
          90_000,
        );
      } finally {
        assert.equal(await fw.stop(), 0);
        await rig.intake.setDown(true);
      }
      const warned = fw.logs.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => String(l.msg));
      if (warned.length > 0) t.diagnostic(`start on the repaired store warned: ${warned.join(' | ')}`);
      assert.ok(
        !warned.some((m) => /not the spool's/.test(m)),
        `leveldb's lost/ is not taken for another program's files: ${warned.join(' | ')}`,
      );
      const tl = tally(acked, rig.counts);
      t.diagnostic(
        figures(`spool repair after ${c.name}`, tl, { repaired: true, recovered: tl.delivered, of: RECORDS }),
      );
      assert.equal(tl.delivered, queued, 'every record the repaired store holds is delivered');
      assert.equal(tl.duplicated, 0);
      assert.equal(tl.unacknowledgedDelivered, 0);
      const expected = recovered(c);
      if (expected === 'some')
        assert.ok(tl.delivered > 0 && tl.delivered < RECORDS, `some records but not all: ${tl.delivered}`);
      else assert.equal(tl.delivered, expected);
    },
  );
}

test(
  'spool repair while a forwarder runs on the storage: refused, nothing copied, no file changed',
  { timeout: 120_000 },
  async (t) => {
    const dir = join(work, 'in-use');
    cpSync(tableStore, dir, { recursive: true });
    await rig.intake.setDown(true); // nothing delivered: the running forwarder leaves the files alone
    const fw = await rig.start(['--storage', dir]);
    try {
      const files = snapshot(dir);
      const r = await cli(['spool', 'repair', '--storage', dir]);
      t.diagnostic(`exit ${r.status}: ${r.stderr.trim()}`);
      assert.equal(r.status, 2, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `^error: storage directory ${dir} is in use by a running teleport-datadog-forwarder \\(LevelDB lock held\\): stop it first`,
          'm',
        ),
      );
      assert.equal(r.stdout, '');
      assert.deepEqual(backupsOf(dir), [], 'nothing copied');
      assert.deepEqual(snapshot(dir), files, 'no file changed');
      assert.equal((await fw.getJson('/status')).spool.records, RECORDS, 'the forwarder keeps its store');
    } finally {
      assert.equal(await fw.stop(), 0);
    }
    // once it stopped, the same command goes through
    const r = await cli(['spool', 'repair', '--storage', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(recordsIn(r.stdout), RECORDS);
  },
);

test(
  'while a repair holds the lock (copy included), a forwarder starting on the storage is refused',
  { timeout: 120_000 },
  async (t) => {
    const dir = join(work, 'held');
    cpSync(tableStore, dir, { recursive: true });
    const copy = join(work, 'held-copy');
    const files = snapshot(dir);
    const lock = await holdStorageLock(dir);
    try {
      // the copy must not drop the lock: closing any descriptor of the LOCK file in this process would (so no
      // snapshot() of dir here either: it reads LOCK)
      mkdirSync(copy);
      copyStorage(dir, copy);
      const r = await cli(['start', '--storage', dir]);
      t.diagnostic(`start: exit ${r.status}: ${r.stderr.trim()}`);
      assert.equal(r.status, 2, r.stderr);
      assert.match(
        r.stderr,
        /^error: storage directory .* is in use by another teleport-datadog-forwarder \(LevelDB lock held\)/m,
      );
    } finally {
      await lock.release();
    }
    assert.deepEqual(snapshot(copy), files, 'the copy made under the lock');
    // released: the next holder gets it
    await (await holdStorageLock(dir)).release();
  },
);

/** runSpool in this process, at a fixed time, so the copy's path is known */
async function repairAt(dir: string, at: string, extra: { dead?: boolean; url?: string } = {}): Promise<string> {
  let out = '';
  await runSpool({
    action: 'repair',
    dead: extra.dead ?? false,
    url: extra.url,
    configFile: rig.config,
    flags: { storage: dir },
    env: {},
    out: { write: (s: string) => (out += s) },
    now: () => Date.parse(at),
  });
  return out;
}

test('spool repair when the copy path exists: refused, nothing changed', async () => {
  const dir = join(work, 'backup-taken');
  cpSync(tableStore, dir, { recursive: true });
  const taken = `${dir}.before-repair-20240501T120000Z`;
  mkdirSync(taken);
  const files = snapshot(dir);
  await assert.rejects(repairAt(dir, '2024-05-01T12:00:00.750Z'), (err: unknown) => {
    assert.ok(err instanceof StorageError, String(err));
    assert.equal(
      err.message,
      `${taken} already exists (an earlier repair's copy?): move it away, or wait a second and repair again; nothing was changed`,
    );
    return true;
  });
  assert.deepEqual(snapshot(dir), files);
  assert.deepEqual(readdirSync(taken), [], 'the existing path left alone');
  assert.deepEqual(backupsOf(dir), [taken]);
});

test('spool repair refuses a missing directory, one without LevelDB files, and --dead or --url', async () => {
  const missing = join(work, 'no-such-storage');
  await assert.rejects(
    repairAt(missing, '2024-05-01T12:00:00Z'),
    new RegExp(`^StorageError: there is no storage directory ${missing}: point --storage`),
  );
  assert.ok(!existsSync(missing), 'not created');
  assert.deepEqual(backupsOf(missing), []);

  const empty = join(work, 'not-a-store');
  mkdirSync(empty);
  const only = join(empty, 'LOG');
  cpSync(join(tableStore, 'LOG'), only);
  await assert.rejects(
    repairAt(empty, '2024-05-01T12:00:00Z'),
    /^StorageError: storage directory .* holds no LevelDB files \(no MANIFEST-, .ldb, .sst or .log file\): there is nothing to repair/,
  );
  assert.deepEqual(readdirSync(empty), ['LOG']);
  assert.deepEqual(backupsOf(empty), []);

  await assert.rejects(
    repairAt(tableStore, '2024-05-01T12:00:00Z', { dead: true }),
    /^ConfigError: spool repair works on the whole store: drop --dead/,
  );
  await assert.rejects(
    repairAt(tableStore, '2024-05-01T12:00:00Z', { url: 'http://127.0.0.1:1' }),
    /^ConfigError: spool repair works on the storage directory .*: drop --url/,
  );
  assert.deepEqual(backupsOf(tableStore), []);
});

test(
  'a repair that did not finish (its marker left): start refuses, naming the copy and the command; a second repair salvages everything',
  { timeout: 120_000 },
  async () => {
    // the state a kill during leveldb's repair leaves: the marker written, the tables and logs not yet named by a new
    // manifest (here: CURRENT deleted, which only a repair or the printf brings back)
    const dir = damagedCopy(tableStore, join(work, 'interrupted'), (d) => {
      rmSync(join(d, 'CURRENT'));
      writeFileSync(join(d, REPAIR_MARKER), `${d}.before-repair-20240501T120000Z\n`);
    });
    const before = snapshot(dir);
    const started = await cli(['start', '--storage', dir]);
    assert.equal(started.status, 2, started.stderr);
    assert.match(
      started.stderr,
      /a spool repair did not finish \(\.repair-in-progress is there\).*run it again: teleport-datadog-forwarder spool repair --storage /,
    );
    assert.match(started.stderr, /as it was before the repair is in .*interrupted\.before-repair-20240501T120000Z/);
    assert.deepEqual(snapshot(dir), before, 'start changed nothing');
    const checked = await cli(['spool', 'stats', '--storage', dir]);
    assert.notEqual(checked.status, 0, 'spool stats refuses it too');
    assert.match(checked.stderr, /did not finish/);

    // the storage as a volume's root: its lost+found is not the store's, and not copied (root's 0700 one would fail)
    mkdirSync(join(dir, 'lost+found'));
    const r = await cli(['spool', 'repair', '--storage', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(recordsIn(r.stdout), RECORDS, 'every record back');
    assert.ok(!existsSync(join(dir, REPAIR_MARKER)));
    const [copy] = backupsOf(dir);
    assert.ok(copy && existsSync(join(copy, REPAIR_MARKER)), 'the copy is of the directory as the repair found it');
    assert.ok(!existsSync(join(copy, 'lost+found')) && existsSync(join(dir, 'lost+found')));
  },
);
