// the spool on a real LevelDB directory: locks, corruption, unusable paths, and a SIGKILL in the middle of writes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StorageError } from '../../src/errors.js';
import { openSpool } from '../../src/spool/spool.js';
import type { Spool } from '../../src/spool/types.js';
import { tempDir, within } from './helpers.js';
import { sectionDefaults } from '../../src/config/sections.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

const BIG = 1 << 30;
// run from source (tsx) or compiled (dist): the child sits beside this file either way
const self = fileURLToPath(import.meta.url);
const childScript = path.join(path.dirname(self), self.endsWith('.ts') ? 'child.ts' : 'child.js');
const childArgs = self.endsWith('.ts') ? ['--import', 'tsx', childScript] : [childScript];

function runChild(args: string[]): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...childArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code }));
  });
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir();
  try {
    await body(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function fill(dir: string, count: number): Promise<void> {
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: BIG });
  for (let i = 0; i < count; i += 500) {
    await spool.append(
      Array.from({ length: 500 }, (_, j) => JSON.stringify({ id: i + j, message: 'hello '.repeat(20) })),
    );
  }
  await spool.close();
}

async function takeEverything(spool: Spool): Promise<string[]> {
  const values: string[] = [];
  while (values.length < spool.stats().records) {
    const items = await within(spool.take(5000, BIG), 10_000, 'take');
    values.push(...items.map((item) => item.value));
  }
  return values;
}

describe('spool storage on disk', () => {
  it('refuses a directory another spool in this process holds, naming it and what to do', async () => {
    await withDir(async (dir) => {
      const first = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: BIG });
      try {
        const err = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: BIG }).then(
          () => assert.fail('second open succeeded'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof StorageError);
        assert.equal(err.code, 'TDF_STORAGE');
        assert.equal(
          err.message,
          `storage directory ${dir} is in use by another teleport-datadog-forwarder (LevelDB lock held); stop it or pick another --storage`,
        );
      } finally {
        await first.close();
      }
      const again = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: BIG });
      await again.close();
    });
  });

  it('refuses a directory another process holds', async () => {
    await withDir(async (dir) => {
      const holder = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: BIG });
      try {
        const { stdout, stderr } = await within(runChild(['open', dir]), 15_000, 'child');
        const outcome = JSON.parse(stdout.trim() || '{}') as { ok?: boolean; code?: string; message?: string };
        assert.equal(outcome.ok, false, `child said ${stdout} ${stderr}`);
        assert.equal(outcome.code, 'TDF_STORAGE');
        assert.match(outcome.message ?? '', /is in use by another teleport-datadog-forwarder \(LevelDB lock held\)/);
      } finally {
        await holder.close();
      }
    });
  });

  it('says a database with a damaged manifest is corrupt and what to do, without retrying', async () => {
    await withDir(async (dir) => {
      await fill(dir, 100);
      for (const file of fs.readdirSync(dir)) {
        if (file.startsWith('MANIFEST-')) fs.writeFileSync(path.join(dir, file), Buffer.alloc(300, 0xab));
      }
      const err = await within(openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: BIG }), 10_000, 'open').then(
        () => assert.fail('opened a corrupt database'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof StorageError);
      assert.match(err.message, new RegExp(`^storage directory ${dir} is corrupt \\(LevelDB: Corruption: `));
      assert.match(err.message, /move the directory aside and start with an empty --storage/);
    });
  });

  it('says a database with a damaged table file is corrupt (found by the scan at open)', async () => {
    await withDir(async (dir) => {
      await fill(dir, 5000);
      // opening once more turns the write-ahead log into a table file
      await (await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: BIG })).close();
      const table = fs.readdirSync(dir).find((file) => file.endsWith('.ldb'));
      assert.ok(table, `a table file in ${fs.readdirSync(dir).join(', ')}`);
      const fd = fs.openSync(path.join(dir, table), 'r+');
      fs.writeSync(fd, Buffer.alloc(4000, 0x5a), 0, 4000, 2000);
      fs.closeSync(fd);
      const err = await within(openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: BIG }), 10_000, 'open').then(
        () => assert.fail('opened a corrupt database'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof StorageError);
      assert.match(err.message, /is corrupt \(LevelDB: Corruption: /);
      // the failed open released the lock: after moving the directory aside, a fresh one opens
      fs.rmSync(dir, { recursive: true, force: true });
      await (await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: BIG })).close();
    });
  });

  it('says when the storage path cannot be a directory', async () => {
    await withDir(async (dir) => {
      const file = path.join(dir, 'a-file');
      fs.writeFileSync(file, 'not a directory');
      await assert.rejects(openSpool({ syncIntervalMs: SYNC_MS, path: file, maxBytes: BIG }), (err: unknown) => {
        assert.ok(err instanceof StorageError);
        assert.match(err.message, new RegExp(`^cannot open storage directory ${file}: `));
        return true;
      });
    });
  });

  for (const mode of ['crash', 'crash-written'] as const) {
    const how = mode === 'crash' ? 'fsynced' : 'written without fsync ({ sync: false })';
    it(`keeps every acknowledged record when the process is killed with SIGKILL mid-write: ${how}`, async (t) => {
      await withDir(async (dir) => {
        const target = 3000;
        const acked: number[] = [];
        let stderr = '';
        let partial = '';
        const child = spawn(process.execPath, [...childArgs, mode, dir, '16'], { stdio: ['ignore', 'pipe', 'pipe'] });
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.stdout.on('data', (chunk: Buffer) => {
          const lines = (partial + chunk.toString()).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) if (line) acked.push(Number(line));
          if (acked.length >= target && child.exitCode === null && !child.killed) child.kill('SIGKILL');
        });
        const closed = new Promise<NodeJS.Signals | null>((resolve) =>
          child.on('close', (_code, signal) => resolve(signal)),
        );
        const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
        const signal = await closed;
        clearTimeout(guard);
        assert.equal(signal, 'SIGKILL', `child ended on its own: ${stderr}`);
        assert.ok(acked.length >= target, `only ${acked.length} acknowledged before the hang guard: ${stderr}`);

        const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: BIG });
        try {
          const stored = (await takeEverything(spool)).map((value) => (JSON.parse(value) as { id: number }).id);
          const storedSet = new Set(stored);
          assert.equal(storedSet.size, stored.length, 'no record stored twice');
          const lost = acked.filter((id) => !storedSet.has(id));
          assert.deepEqual(lost, [], 'every acknowledged record survived');
          const ackedSet = new Set(acked);
          const extra = stored.filter((id) => !ackedSet.has(id)).length;
          t.diagnostic(`acknowledged ${acked.length}, stored ${stored.length}, stored but never acknowledged ${extra}`);
          assert.equal(spool.stats().records, stored.length);
        } finally {
          await spool.close();
        }
      });
    });
  }

  it('keeps every acknowledged record and brings back no delivered one when killed while a sink acks, through journal flips', async (t) => {
    await withDir(async (dir) => {
      const appended: number[] = [];
      const taken = new Set<number>();
      const delivered = new Set<number>();
      let stderr = '';
      let partial = '';
      const child = spawn(process.execPath, [...childArgs, 'deliver', dir, '8'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (line.startsWith('t')) taken.add(Number(line.slice(1)));
          else if (line.startsWith('d')) delivered.add(Number(line.slice(1)));
          else if (line) appended.push(Number(line));
        }
        if (appended.length >= 6000 && delivered.size >= 2000 && child.exitCode === null && !child.killed) {
          child.kill('SIGKILL');
        }
      });
      const closed = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on('close', (_code, signal) => resolve(signal)),
      );
      const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const signal = await closed;
      clearTimeout(guard);
      assert.equal(signal, 'SIGKILL', `child ended on its own: ${stderr}`);
      assert.ok(delivered.size >= 2000, `only ${delivered.size} delivered before the hang guard: ${stderr}`);
      // the bounds were crossed: LevelDB got records from the journal, which moved on to its other file
      assert.ok(fs.readdirSync(dir).some((f) => /^\d+\.log$/.test(f) && fs.statSync(path.join(dir, f)).size > 0));

      const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: BIG });
      try {
        const stored = (await takeEverything(spool)).map((value) => (JSON.parse(value) as { id: number }).id);
        const storedSet = new Set(stored);
        assert.equal(storedSet.size, stored.length, 'no record stored twice');
        const lost = appended.filter((id) => !storedSet.has(id) && !taken.has(id));
        assert.deepEqual(lost, [], 'every acknowledged record not yet taken by the sink survived');
        const back = [...delivered].filter((id) => storedSet.has(id));
        assert.deepEqual(back, [], 'no record whose ack resolved comes back');
        t.diagnostic(`appended ${appended.length}, delivered ${delivered.size}, stored ${stored.length}`);
      } finally {
        await spool.close();
      }
    });
  });
});
