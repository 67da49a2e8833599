// `spool repair`: leveldb's RepairDB on a damaged storage directory. it writes a new manifest and CURRENT from the
// table and log files it can read (logs become tables), and moves what it replaced or could not read to <dir>/lost.
// it can lose records, so the whole directory is first copied to a sibling <dir>.before-repair-<utc time> (made as
// <that>.partial and renamed once synced, so a copy under its final name is whole). while the repair runs a marker
// (REPAIR_MARKER) in the storage names that copy: a repair killed half-way may have turned the logs into a table no
// manifest names yet, which an open would delete, so start refuses until the repair is run again.
//
// RepairDB does not take leveldb's LOCK (db/repair.cc), so on its own it would rewrite a store a running forwarder
// has open. we hold that lock ourselves for the copy and the repair: a throwaway store in a temp directory whose
// LOCK is a symlink to the storage's LOCK. leveldb takes an fcntl lock on the file it opens, so a forwarder
// starting meanwhile gets "lock held", and we get it when one already has the store open. fcntl locks belong to
// the process and go with any close of that file in it: nothing here opens the storage's LOCK while it is held
// (the copy writes an empty LOCK, which is all leveldb ever puts there).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { StorageError } from '../errors.js';
import { REPAIR_MARKER, innermostMessage, levelCode, levelDataFiles } from './storage-errors.js';

export interface RepairResult {
  /** the storage directory, resolved */
  storage: string;
  /** the copy of the directory as it was before the repair */
  backup: string;
  /** where leveldb put the files it replaced or could not read; null when it put none there */
  lost: string | null;
}

/** <dir>.before-repair-20240501T120000Z: sorts by time, no colons to quote. pure */
export function backupPath(dir: string, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `${dir}.before-repair-${stamp}`;
}

/** copy the storage aside, then repair it in place. throws StorageError, before any change when it refuses */
export async function repairStorage(dir: string, at: Date): Promise<RepairResult> {
  const storage = path.resolve(dir);
  checkStore(storage);
  const backup = backupPath(storage, at);
  const taken = () =>
    new StorageError(
      `${backup} already exists (an earlier repair's copy?): move it away, or wait a second and repair again; nothing was changed`,
    );
  if (fs.existsSync(backup) || isSymlink(backup)) throw taken();
  const lock = await holdStorageLock(storage);
  try {
    const partial = `${backup}.partial`;
    try {
      fs.mkdirSync(partial);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw taken();
      throw new StorageError(
        `cannot create ${partial} for the copy of the storage: ${(err as Error).message}; nothing was changed${placeHint(err)}`,
        { cause: err },
      );
    }
    try {
      copyStorage(storage, partial);
      fs.renameSync(partial, backup);
      syncPath(path.dirname(backup));
    } catch (err) {
      // only our own partial copy goes; the storage was not touched
      fs.rmSync(partial, { recursive: true, force: true });
      throw new StorageError(
        `could not copy ${storage} to ${backup}: ${(err as Error).message}; nothing was repaired${placeHint(err)}`,
        { cause: err },
      );
    }
    const marker = path.join(storage, REPAIR_MARKER);
    try {
      fs.writeFileSync(marker, `${backup}\n`);
      syncPath(marker);
      syncPath(storage);
    } catch (err) {
      fs.rmSync(marker, { force: true });
      throw new StorageError(
        `cannot write into ${storage}: ${(err as Error).message}; nothing was repaired (the copy is in ${backup})`,
        { cause: err },
      );
    }
    try {
      await ClassicLevel.repair(storage);
    } catch (err) {
      throw new StorageError(
        `LevelDB could not repair ${storage}: ${innermostMessage(err)}; the directory as it was before is in ${backup}`,
        { cause: err },
      );
    }
    // done: the new manifest names every table. the marker goes last, so a kill before here still refuses start
    fs.rmSync(marker, { force: true });
    syncPath(storage);
  } finally {
    await lock.release();
  }
  const lost = path.join(storage, 'lost');
  return { storage, backup, lost: listOrEmpty(lost).length > 0 ? lost : null };
}

/** what to check when the copy cannot be made beside the storage */
function placeHint(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT')
    return ': the copy needs as much free space next to the storage as the storage takes';
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return (
      ': the directory that holds the storage must be writable by this user (a read-only root or a volume mount point: ' +
      'copy the storage onto a writable volume and repair it there)'
    );
  }
  return '';
}

/** refuses a directory that is missing or holds no leveldb data: nothing to repair, and RepairDB would create it */
function checkStore(storage: string): void {
  let names: string[];
  try {
    if (!fs.statSync(storage).isDirectory())
      throw new StorageError(
        `${storage} is not a directory: point --storage (or --config) at the forwarder's storage directory`,
      );
    names = fs.readdirSync(storage);
  } catch (err) {
    if (err instanceof StorageError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new StorageError(
        `there is no storage directory ${storage}: point --storage (or --config) at the forwarder's storage directory`,
      );
    }
    throw new StorageError(`cannot read storage directory ${storage}: ${(err as Error).message}`, { cause: err });
  }
  if (levelDataFiles(names).length === 0) {
    throw new StorageError(
      `storage directory ${storage} holds no LevelDB files (no MANIFEST-, .ldb, .sst or .log file): there is nothing to repair; ` +
        "point --storage (or --config) at the forwarder's storage directory",
    );
  }
}

export interface HeldLock {
  release(): Promise<void>;
}

/** the storage's leveldb lock, held by this process until release(); refuses when another process holds it */
export async function holdStorageLock(storage: string): Promise<HeldLock> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tdf-repair-lock-'));
  // a missing LOCK is created through the link, as any leveldb open of the storage would
  fs.symlinkSync(path.join(storage, 'LOCK'), path.join(home, 'LOCK'));
  const db = new ClassicLevel(home);
  const release = async () => {
    await db.close().catch(() => {});
    fs.rmSync(home, { recursive: true, force: true });
  };
  try {
    await db.open();
  } catch (err) {
    await release();
    if (levelCode(err) === 'LEVEL_LOCKED') {
      throw new StorageError(
        `storage directory ${storage} is in use by a running teleport-datadog-forwarder (LevelDB lock held): stop it first; ` +
          'a repair rewrites the store and must not run while another process has it open. nothing was changed',
        { cause: err },
      );
    }
    throw new StorageError(
      `cannot take the LevelDB lock of ${storage}: ${innermostMessage(err)}; nothing was changed`,
      { cause: err },
    );
  }
  return { release };
}

/** the storage directory copied into the empty directory `to` while its lock is held (see the top), synced */
export function copyStorage(from: string, to: string): void {
  copyTree(from, to, true);
}

/** a copy with the same modes and times, synced to disk before anything is repaired */
function copyTree(from: string, to: string, top: boolean): void {
  for (const name of fs.readdirSync(from)) {
    // a volume's own lost+found (root's, 0700) is not the store's
    if (top && name === 'lost+found') continue;
    const source = path.join(from, name);
    const target = path.join(to, name);
    const st = fs.lstatSync(source);
    if (st.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(source), target);
      continue;
    }
    if (st.isDirectory()) {
      fs.mkdirSync(target);
      copyTree(source, target, false);
    } else if (st.isFile()) {
      if (top && name === 'LOCK') {
        // opening the held LOCK would drop our lock when closed (see the top)
        if (st.size !== 0) throw new Error(`${source} is not empty: not a LevelDB lock file`);
        fs.writeFileSync(target, '', { flag: 'wx' });
      } else {
        fs.copyFileSync(source, target, fs.constants.COPYFILE_EXCL);
      }
      syncPath(target);
    } else {
      throw new Error(`${source} is neither a file nor a directory`);
    }
    fs.chmodSync(target, st.mode & 0o7777);
    fs.utimesSync(target, st.atime, st.mtime);
  }
  if (top) {
    const st = fs.statSync(from);
    fs.chmodSync(to, st.mode & 0o7777);
  }
  syncPath(to);
  if (top) syncPath(path.dirname(to));
}

function syncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function listOrEmpty(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
