// the storage directory: files the spool did not make (another program's state, e.g. teleport-event-handler's,
// which also defaults to ./storage) are reported once at open and left alone; the spool's own files never are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSpool } from '../../src/spool/spool.js';
import { collectingLogger } from './helpers.js';
import { sectionDefaults } from '../../src/config/sections.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

const foreignWarnings = (lines: ReturnType<typeof collectingLogger>['lines']) =>
  lines.filter((l) => l.level === 'warn' && /not the spool's/.test(l.msg ?? ''));

test("a directory the spool made itself (logs, tables, manifest) is never reported as holding others' files", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-dir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = collectingLogger();
  let spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1 << 30, logger: first.logger });
  // past leveldb's 4 MiB write buffer twice (the journal hands records to it in bulk), so tables (.ldb) exist
  for (let i = 0; i < 48; i++)
    await spool.append(
      Array.from({ length: 100 }, (_, j) => JSON.stringify({ n: i * 100 + j, pad: 'p'.repeat(2000) })),
    );
  await spool.close();
  assert.ok(
    readdirSync(dir).some((f) => f.endsWith('.ldb')),
    `tables were written: ${readdirSync(dir).join(' ')}`,
  );
  // and what the filesystem adds: ext4's lost+found when the storage is a volume's root, nfs's files of open handles
  mkdirSync(join(dir, 'lost+found'));
  writeFileSync(join(dir, '.nfs000000000012abcd00000001'), '');
  const second = collectingLogger();
  spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1 << 30, logger: second.logger });
  assert.equal(spool.stats().records, 4800);
  await spool.close();
  assert.deepEqual(foreignWarnings([...first.lines, ...second.lines]), []);
});

test("another program's files in the storage directory: one warning naming them, the files untouched, the spool works", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-dir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'cursor'), 'handler-cursor-v1');
  writeFileSync(join(dir, 'id'), 'last-event-id');
  mkdirSync(join(dir, 'sessions'));
  const { lines, logger } = collectingLogger();
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1 << 30, logger });
  await spool.append(['{"a":1}']);
  const items = await spool.take(10, 1 << 20);
  assert.deepEqual(
    items.map((i) => i.value),
    ['{"a":1}'],
  );
  await spool.close();
  const warned = foreignWarnings(lines);
  assert.equal(warned.length, 1);
  assert.deepEqual(warned[0]!.obj.files, ['cursor', 'id', 'sessions']);
  assert.equal(warned[0]!.obj.storage, dir);
  assert.match(warned[0]!.msg!, /left alone; give the forwarder a directory of its own/);
  assert.equal(readFileSync(join(dir, 'cursor'), 'utf8'), 'handler-cursor-v1');
  assert.equal(readFileSync(join(dir, 'id'), 'utf8'), 'last-event-id');
});

test(
  'storage is created with its missing parents; where it cannot be, open fails instead of spinning',
  { timeout: 30_000 },
  async (t) => {
    const base = mkdtempSync(join(tmpdir(), 'tdf-dir-'));
    t.after(() => rmSync(base, { recursive: true, force: true }));
    const deep = join(base, 'a', 'b', 'storage');
    const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: deep, maxBytes: 1 << 30 });
    await spool.close();
    assert.ok(readdirSync(deep).includes('CURRENT'));
    // node's own recursive mkdir loops forever here (the parent exists, the child cannot be made)
    await assert.rejects(
      openSpool({ syncIntervalMs: SYNC_MS, path: '/proc/tdf-no-such-dir/storage', maxBytes: 1 << 30 }),
      /\/proc\/tdf-no-such-dir\/storage/,
    );
  },
);
