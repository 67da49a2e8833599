// leveldb replays its write-ahead log on open and, with paranoid_checks off (classic-level does not expose it),
// skips a damaged part of it without failing: acknowledged records would vanish with nothing said but a line in
// the store's own LOG file, and the damaged log is deleted once it is replayed. so before opening we hard-link
// the logs aside (no copy), and after opening we read what leveldb wrote to LOG: if it dropped anything, the
// caller reports it loudly and the damaged logs stay in a `damaged-wal-<time>` directory for inspection.
// a log cut short at its end (a crash mid-write, which never held an acknowledged record) is not reported by
// leveldb, so a crash alone never raises this.
import fs from 'node:fs';
import path from 'node:path';

export interface WalDamage {
  /** bytes of write-ahead log leveldb skipped while replaying it */
  droppedBytes: number;
  /** leveldb's reasons, e.g. "Corruption: checksum mismatch" (deduplicated) */
  reasons: string[];
  /** the directory keeping the damaged logs, or null if they could not be kept */
  keptIn: string | null;
}

const PENDING = '.wal-at-open';
const KEPT_PREFIX = 'damaged-wal-';
const WAL_NAME = /^\d+\.log$/;
// leveldb's recovery reporter: "<file>: dropping <n> bytes; <status>" (prefixed "(ignoring error) "), and a log it
// could not read or apply at all, skipped whole: "Ignoring error <status>"
const DROPPED = /: dropping (\d+) bytes; (.+)$/;
const IGNORED = /\bIgnoring error (.+)$/;
const LOG_READ_MAX = 1024 * 1024; // 1 MiB: a fresh LOG of one open is a few lines

export interface WalGuard {
  /** after a successful open: what leveldb dropped, or null; keeps the logs only in the first case */
  settle(now?: Date): WalDamage | null;
  /** after a failed open: leveldb deleted nothing, drop the links */
  discard(): void;
}

/** hard-links the store's write-ahead logs aside; call right before opening the store. never throws */
export function guardWal(dir: string): WalGuard {
  const pending = path.join(dir, PENDING);
  let linked = 0;
  try {
    // left over from a run that died between open and settle: those links are stale
    fs.rmSync(pending, { recursive: true, force: true });
    const logs = fs.readdirSync(dir).filter((f) => WAL_NAME.test(f));
    if (logs.length > 0) {
      fs.mkdirSync(pending, { mode: 0o700 });
      for (const f of logs) {
        fs.linkSync(path.join(dir, f), path.join(pending, f));
        linked++;
      }
    }
  } catch {
    // a file system without hard links: damage is still detected and reported, the logs just are not kept
  }
  const discard = (): void => {
    try {
      fs.rmSync(pending, { recursive: true, force: true });
    } catch {
      // removed at the next start
    }
  };
  return {
    discard,
    settle(now = new Date()) {
      const damage = readDamage(dir);
      if (damage === null || linked === 0) {
        discard();
        return damage === null ? null : { ...damage, keptIn: null };
      }
      const kept = path.join(dir, `${KEPT_PREFIX}${now.toISOString().replace(/[:.]/g, '').replace(/-/g, '')}`);
      try {
        fs.renameSync(pending, kept);
        return { ...damage, keptIn: kept };
      } catch {
        discard();
        return { ...damage, keptIn: null };
      }
    },
  };
}

/** the damaged-wal directories kept in a store, oldest first */
export function keptWalDamage(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => f.startsWith(KEPT_PREFIX))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

/** what leveldb's LOG says it dropped while replaying logs in the open that just happened */
export function readDamage(dir: string): Omit<WalDamage, 'keptIn'> | null {
  let text: string;
  try {
    const fd = fs.openSync(path.join(dir, 'LOG'), 'r');
    try {
      const buf = Buffer.alloc(LOG_READ_MAX);
      text = buf.subarray(0, fs.readSync(fd, buf, 0, LOG_READ_MAX, 0)).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
  return parseDamage(text);
}

export function parseDamage(logText: string): Omit<WalDamage, 'keptIn'> | null {
  let droppedBytes = 0;
  const reasons = new Set<string>();
  for (const line of logText.split('\n')) {
    const m = DROPPED.exec(line);
    if (m) {
      droppedBytes += Number(m[1]);
      reasons.add(m[2]!.trim());
      continue;
    }
    const ignored = IGNORED.exec(line);
    if (ignored) reasons.add(`a log skipped whole: ${ignored[1]!.trim()}`);
  }
  return reasons.size === 0 ? null : { droppedBytes, reasons: [...reasons] };
}
