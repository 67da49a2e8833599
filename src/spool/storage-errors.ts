// turns what abstract-level / classic-level throw into errors a user can act on. classic-level 3 wraps open
// failures as LEVEL_DATABASE_NOT_OPEN with the reason in `cause` (LEVEL_LOCKED, LEVEL_CORRUPTION, LEVEL_IO_ERROR);
// reads of damaged table files throw LEVEL_CORRUPTION directly.
import fs from 'node:fs';
import path from 'node:path';
import { StorageError } from '../errors.js';

interface CodedError {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** the most specific level error code in an error and its causes */
export function levelCode(err: unknown): string | undefined {
  let found: string | undefined;
  for (let e = err as CodedError | undefined, depth = 0; e && depth < 5; e = e.cause as CodedError, depth++) {
    if (typeof e.code === 'string') found = e.code;
  }
  return found;
}

/** the leveldb reason, from the innermost error that has a message */
export function innermostMessage(err: unknown): string {
  let message = err instanceof Error ? err.message : String(err);
  for (let e = err as CodedError | undefined, depth = 0; e && depth < 5; e = e.cause as CodedError, depth++) {
    if (typeof e.message === 'string' && e.message) message = e.message;
  }
  return message;
}

export function isCorruption(err: unknown): boolean {
  return levelCode(err) === 'LEVEL_CORRUPTION';
}

export function corruptError(where: string, err: unknown): StorageError {
  return new StorageError(
    `storage directory ${where} is corrupt (LevelDB: ${innermostMessage(err)}); stop the forwarder and salvage what ` +
      `it can with ${repairCommand(where)} (it copies the directory aside first), or move the directory aside and ` +
      'start with an empty --storage (records still queued in the old one are not delivered)',
    { cause: err },
  );
}

/** an error from opening the store (or from the scan right after it) */
export function openError(where: string, err: unknown): StorageError {
  const code = levelCode(err);
  if (code === 'LEVEL_LOCKED') {
    return new StorageError(
      `storage directory ${where} is in use by another teleport-datadog-forwarder (LevelDB lock held); ` +
        'stop it or pick another --storage',
      { cause: err },
    );
  }
  if (code === 'LEVEL_CORRUPTION' || namesDamagedFile(where, innermostMessage(err))) return corruptError(where, err);
  return new StorageError(
    `cannot open storage directory ${where}: ${innermostMessage(err)}; check that it exists, is a LevelDB ` +
      'directory made by this forwarder, and is writable by this user',
    { cause: err },
  );
}

const DATA_FILE = /^(MANIFEST-\d+|\d+\.(ldb|sst|log))$/;

/** the names that are leveldb data (manifests, tables, logs), sorted: what a store is made of */
export function levelDataFiles(names: readonly string[]): string[] {
  return names.filter((n) => DATA_FILE.test(n)).sort();
}

/** the command that salvages a damaged store (src/spool/repair.ts), ready to paste */
export function repairCommand(dir: string): string {
  return `teleport-datadog-forwarder spool repair --storage ${shellQuote(dir)}`;
}

/** written into the storage while `spool repair` runs (it holds the path of the copy made before) */
export const REPAIR_MARKER = '.repair-in-progress';

/**
 * a `spool repair` that did not finish (killed, crashed): leveldb's repair may have turned the logs into a new
 * table not yet named by a manifest, and an open would delete that table as unreferenced. null when there is none
 */
export function interruptedRepairError(dir: string): StorageError | null {
  let copy: string;
  try {
    copy = fs.readFileSync(path.join(dir, REPAIR_MARKER), 'utf8').trim();
  } catch {
    return null;
  }
  return new StorageError(
    `storage directory ${dir}: a spool repair did not finish (${REPAIR_MARKER} is there), and opening it now could drop ` +
      `what the repair had moved; run it again: ${repairCommand(dir)} (the directory as it was before the repair ` +
      `is in ${copy || `${dir}.before-repair-*`})`,
  );
}

/** what must stop anything from opening or writing into the directory: an unfinished repair, a missing CURRENT */
export function refuseBeforeOpen(dir: string): StorageError | null {
  return interruptedRepairError(dir) ?? missingCurrentError(dir);
}

const SHOWN_FILES = 5;

/**
 * a store whose CURRENT file is gone (disk damage, a partial restore, a deletion): leveldb, told to create a missing
 * store, would start an empty one over it and delete its tables, losing every queued record and the poller's
 * cursors without a word. only reads the directory: callers refuse before anything writes into it. null when the
 * directory holds no leveldb data, or cannot be read (the open that follows says why).
 */
export function missingCurrentError(dir: string): StorageError | null {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return null;
  }
  if (names.includes('CURRENT')) return null;
  const data = levelDataFiles(names);
  if (data.length === 0) return null;
  // newest first, by number (leveldb pads to 6 digits, more past 999999)
  const manifests = data.filter((n) => MANIFEST_FILE.test(n)).sort((a, b) => manifestNumber(b) - manifestNumber(a));
  const shown =
    data.slice(0, SHOWN_FILES).join(', ') + (data.length > SHOWN_FILES ? ` and ${data.length - SHOWN_FILES} more` : '');
  const aside =
    'or move the directory aside and start with an empty --storage (records still queued in the old one are not delivered)';
  // a repair writes a new manifest and CURRENT from what the tables and logs hold, whatever the manifests say
  const repair = `rebuild CURRENT and a manifest from the tables and logs with ${repairCommand(dir)} (it copies the directory aside first)`;
  const [newest, older] = manifests;
  let todo: string;
  if (newest === undefined) {
    todo = `no MANIFEST- file is left for CURRENT to name: ${repair}, ${aside}`;
  } else {
    // the format leveldb itself writes: the manifest's name and a newline
    todo =
      `restore CURRENT, one line naming the newest manifest: printf '${newest}\\n' > ${shellQuote(path.join(dir, 'CURRENT'))} ` +
      `and start again${older ? ` (if LevelDB then calls it corrupt, name the next older one, ${older})` : ''}; or ${repair}; ${aside}`;
  }
  return new StorageError(
    `storage directory ${dir} holds a LevelDB store (${data.length} data files: ${shown}) but no CURRENT file; ` +
      'opening it would start an empty store over it and delete its tables, so it was not opened and nothing in it ' +
      `was changed. ${todo}`,
  );
}

function manifestNumber(name: string): number {
  return Number(name.slice('MANIFEST-'.length));
}

/** a path pasted into a shell as one word */
function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** a failed synced batch: nothing of it was acknowledged */
export function writeError(where: string, err: unknown): StorageError {
  return new StorageError(
    `could not write to storage directory ${where}: ${innermostMessage(err)}; nothing of this write was ` +
      'acknowledged (check free disk space and permissions)',
    { cause: err },
  );
}

/**
 * leveldb reports some damage as an IO error: a table file cut short ("<n>.ldb: Invalid argument", a read past its
 * end), or a file the manifest or CURRENT names that is not there ("<dir>/<name>: No such file or directory").
 * only those two reasons, about one of the store's own files, count as damage: any other IO error (permissions,
 * quota, memory, a stale network mount) stays "cannot open", whose advice does not throw queued records away.
 */
export function namesDamagedFile(where: string, message: string): boolean {
  const m = /^IO error: (.+?): ([^:]+)$/.exec(message);
  if (!m) return false;
  const [, file, reason] = m as unknown as [string, string, string];
  if (path.resolve(path.dirname(file)) !== path.resolve(where)) return false;
  const name = path.basename(file);
  if (reason === 'Invalid argument') return TABLE_FILE.test(name);
  if (reason !== 'No such file or directory') return false;
  if (TABLE_FILE.test(name) || MANIFEST_FILE.test(name)) return true;
  try {
    return fs.readFileSync(path.join(where, 'CURRENT'), 'utf8').trim() === name;
  } catch {
    return false;
  }
}

const TABLE_FILE = /^\d+\.(ldb|sst)$/;
const MANIFEST_FILE = /^MANIFEST-\d+$/;
