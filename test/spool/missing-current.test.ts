// a store whose CURRENT file is gone: leveldb would start an empty store over it and delete its tables. open (and
// check) must refuse, naming the newest manifest, without changing a file; restoring CURRENT the way the message
// says brings every record and cursor back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorageError } from '../../src/errors.js';
import { openSpool } from '../../src/spool/spool.js';
import { storageResult } from '../../src/checks/files.js';
import { sectionDefaults } from '../../src/config/sections.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

const CURSOR = 'teleport/cursor';

/** every file in dir with a hash of its content */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const file = join(dir, name);
    out[name] = statSync(file).isDirectory() ? 'dir' : createHash('sha256').update(readFileSync(file)).digest('hex');
  }
  return out;
}

async function refusal(dir: string): Promise<StorageError> {
  const err = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1 << 30 }).then(
    async (spool) => {
      await spool.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  assert.ok(err instanceof StorageError, `open refused with a StorageError, got ${String(err)}`);
  assert.equal(err.code, 'TDF_STORAGE');
  return err;
}

/** the restore command the message gives */
function restoreCommand(message: string): string {
  const m = /printf '[^']*' > ('[^']*'|\S+)/.exec(message);
  assert.ok(m, `a printf command in: ${message}`);
  return m[0];
}

test('CURRENT deleted: open and check refuse naming the newest manifest and change nothing; the printf they give restores every record', async (t) => {
  // a space in the path: the command in the message must quote it
  const dir = mkdtempSync(join(tmpdir(), 'tdf no current-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1 << 30 });
  // past leveldb's 4 MiB write buffer, so tables (.ldb) hold records, then more in the log of a second session
  for (let i = 0; i < 24; i++) {
    await spool.append(
      Array.from({ length: 100 }, (_, j) => JSON.stringify({ n: i * 100 + j, pad: 'p'.repeat(2000) })),
      [{ type: 'put', key: CURSOR, value: `c${i}` }],
    );
  }
  await spool.close();
  spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1 << 30 });
  await spool.append(['{"n":2400}', '{"n":2401}'], [{ type: 'put', key: CURSOR, value: 'last' }]);
  await spool.close();
  const names = readdirSync(dir);
  assert.ok(
    names.some((f) => f.endsWith('.ldb')) && names.some((f) => f.endsWith('.log')),
    `tables and a log: ${names.join(' ')}`,
  );
  const current = readFileSync(join(dir, 'CURRENT'), 'utf8');
  assert.match(current, /^MANIFEST-\d{6}\n$/, 'the format leveldb writes');
  const manifest = current.trim();
  rmSync(join(dir, 'CURRENT'));
  const before = snapshot(dir);

  const err = await refusal(dir);
  assert.ok(err.message.startsWith(`storage directory ${dir} `), err.message);
  assert.match(err.message, /but no CURRENT file/);
  assert.match(err.message, /nothing in it was changed/);
  assert.ok(err.message.includes(`printf '${manifest}\\n' > '${join(dir, 'CURRENT')}'`), err.message);
  assert.match(err.message, /move the directory aside and start with an empty --storage/);
  assert.ok(
    err.message.includes(
      `or rebuild CURRENT and a manifest from the tables and logs with teleport-datadog-forwarder spool repair --storage '${dir}' `,
    ),
    err.message,
  );
  assert.deepEqual(snapshot(dir), before, 'the refusal changed no file');
  // twice: no leftover of the first attempt changes the second
  assert.equal((await refusal(dir)).message, err.message);
  assert.deepEqual(snapshot(dir), before);

  const checked = storageResult(dir);
  assert.equal(checked.status, 'fail');
  assert.equal(checked.detail, err.message, 'check says what start would');
  assert.deepEqual(snapshot(dir), before, 'the check wrote nothing (not even its probe)');

  const sh = spawnSync('sh', ['-c', restoreCommand(err.message)], { encoding: 'utf8' });
  assert.equal(sh.status, 0, sh.stderr);
  assert.equal(readFileSync(join(dir, 'CURRENT'), 'utf8'), current);
  spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1 << 30 });
  try {
    assert.equal(spool.stats().records, 2402);
    assert.equal(await spool.getState(CURSOR), 'last');
    const items = await spool.take(5000, 1 << 30);
    assert.deepEqual(
      items.map((i) => (JSON.parse(i.value) as { n: number }).n),
      Array.from({ length: 2402 }, (_, n) => n),
    );
  } finally {
    await spool.close();
  }
  assert.equal(storageResult(dir).status, 'pass');
});

test('CURRENT missing: the newest manifest is found by number, an older one named as the fallback; none left says so', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-no-current-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // what leveldb keeps past 999999 files: more digits, so a sort by name would pick the wrong one
  for (const name of ['MANIFEST-999999', 'MANIFEST-1000002', '1000001.log', '000007.ldb'])
    writeFileSync(join(dir, name), 'x');
  const before = snapshot(dir);
  const err = await refusal(dir);
  assert.ok(err.message.includes(`printf 'MANIFEST-1000002\\n' > ${join(dir, 'CURRENT')} `), err.message);
  assert.match(err.message, /name the next older one, MANIFEST-999999/);
  assert.deepEqual(snapshot(dir), before);

  rmSync(join(dir, 'MANIFEST-999999'));
  rmSync(join(dir, 'MANIFEST-1000002'));
  const none = await refusal(dir);
  assert.ok(
    none.message.includes(
      `no MANIFEST- file is left for CURRENT to name: rebuild CURRENT and a manifest from the tables and logs with teleport-datadog-forwarder spool repair --storage ${dir} `,
    ),
    none.message,
  );
  assert.doesNotMatch(none.message, /printf/);
  assert.equal(storageResult(dir).detail, none.message);
  assert.deepEqual(readdirSync(dir).sort(), ['000007.ldb', '1000001.log']);
});

test('an empty directory, a missing one, and one holding only leveldb LOG/LOCK still open as a new spool', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tdf-no-current-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const empty = join(base, 'empty');
  const onlyLog = join(base, 'only-log');
  mkdirSync(empty);
  mkdirSync(onlyLog);
  writeFileSync(join(onlyLog, 'LOG'), 'an earlier failed open\n');
  writeFileSync(join(onlyLog, 'LOCK'), '');
  for (const dir of [empty, join(base, 'missing', 'storage'), onlyLog]) {
    assert.equal(storageResult(dir).status, 'pass', dir);
    let spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1 << 30 });
    await spool.append(['{"a":1}']);
    await spool.close();
    assert.ok(readdirSync(dir).includes('CURRENT'), dir);
    spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1 << 30 });
    assert.equal(spool.stats().records, 1, dir);
    await spool.close();
  }
});
