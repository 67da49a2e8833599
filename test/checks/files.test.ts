// check's verdict on the storage directory: exists and writable, can be created, or cannot be, said plainly
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storageResult } from '../../src/checks/files.js';

test('storage: existing, to be created under missing parents, under a file, and where nothing can be made', (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tdf-storage-check-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  assert.equal(storageResult(base).status, 'pass');
  const later = storageResult(join(base, 'a', 'b', 'storage'));
  assert.equal(later.status, 'pass');
  assert.match(later.detail, new RegExp(`will be created in ${base}$`));
  assert.deepEqual(readdirSync(base), [], 'the probe leaves nothing behind');
  writeFileSync(join(base, 'file'), '');
  const underFile = storageResult(join(base, 'file', 'storage'));
  assert.equal(underFile.status, 'fail');
  assert.match(underFile.detail, /ENOTDIR/);
  // root may write anywhere by its permission bits, yet nothing can be made under /proc
  const proc = storageResult('/proc/tdf-no-such-dir/storage');
  assert.equal(proc.status, 'fail');
  assert.match(proc.detail, /cannot be created in \/proc/);
});
