// opening a spool's store, apart from the queue: the storage directory's checks, what leveldb dropped of its
// write-ahead log (after an open or a reopen), and the count of what the store holds.
// - the scan reads the keys of every queued record and dead letter (sizes and times are in the keys, so no value
//   reaches javascript): o(records) once at start; LevelDB still reads every block. measured on a local ext4
//   disk: 0.35-0.65 s for 256k records of 1 KiB (248 MiB), so about 2 s per GiB.
import fs from 'node:fs';
import nodePath from 'node:path';
import type { Logger } from '../log.js';
import { DEAD_GTE, DEAD_LT, META_KEY, QUEUE_GTE, QUEUE_LT, isDeadKey, parseMeta, parseQueueKey } from './keys.js';
import { UTF8, type SpoolDb } from './store.js';
import { keptWalDamage, type WalDamage, type WalGuard } from './wal-damage.js';

// what leveldb and the spool itself create in the storage directory (`lost/`: where `spool repair` leaves what
// leveldb's repair set aside; `journal.0`/`journal.1`: the journal in front of LevelDB), and what the filesystem
// puts there: ext4's lost+found at the root of a volume mounted as the storage (the helm chart does), nfs's
// .nfsXXXX of open files
const OWN_FILE =
  /^(CURRENT|LOCK|LOG|LOG\.old|MANIFEST-\d+|\d+\.(log|ldb|sst|dbtmp)|\.wal-at-open|journal\.[01]|damaged-wal-.+|lost|lost\+found|\.nfs[0-9a-f]+)$/;

/**
 * mkdir -p without node's recursive mkdir, which loops forever where a directory cannot be made although its
 * parent exists (under /proc: ENOENT for the child, and the parent "missing" again)
 */
export function makeDir(dir: string): void {
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && fs.statSync(dir).isDirectory()) return;
    const parent = nodePath.dirname(dir);
    if (code !== 'ENOENT' || parent === dir || fs.existsSync(parent)) throw err;
    makeDir(parent);
    fs.mkdirSync(dir);
  }
}

/** names in the storage directory that neither leveldb nor the spool made */
export function foreignFiles(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((name) => !OWN_FILE.test(name))
      .sort();
  } catch {
    return []; // the open that follows says what is wrong with the directory
  }
}

/**
 * after an open (or a reopen) of a store on disk: what leveldb dropped of its write-ahead log, said as loudly as a
 * refusal would be, and the damaged logs kept in the directory (this start's and earlier ones)
 */
export function settleWal(guard: WalGuard, where: string, log: Logger): { damage: WalDamage | null; kept: string[] } {
  const damage = guard.settle();
  if (damage) {
    log.error(
      { storage: where, droppedBytes: damage.droppedBytes, reasons: damage.reasons, keptIn: damage.keptIn },
      `spool storage was damaged: LevelDB skipped ${damage.droppedBytes} bytes of its write-ahead log while ` +
        `opening (${damage.reasons.join('; ')}); records acknowledged before the last stop may be lost and were ` +
        'not delivered (after an os crash or power loss the damage may be only in acks written without fsync, ' +
        `which just sends those logs again). ${damage.keptIn ? `The damaged log is kept in ${damage.keptIn} for inspection. ` : ''}` +
        'Check the disk (dmesg, SMART) before trusting it; the forwarder goes on with what was recovered',
    );
  }
  // the alert outlives the restart that found the damage, until someone has looked
  const kept = keptWalDamage(where);
  const earlier = kept.filter((d) => d !== damage?.keptIn);
  if (earlier.length > 0) {
    log.warn(
      { storage: where, kept: earlier },
      'the spool storage holds damaged write-ahead logs kept from an earlier start (records may have been lost then); remove them once inspected',
    );
  }
  return { damage, kept };
}

/** what the store holds at open */
export interface Scanned {
  records: number;
  bytes: number;
  deadLetters: number;
  /** the number of the last batch that wrote the meta key */
  batchNo: number;
  /** the highest sequence ever written: of the records there, or of the meta key once they were deleted */
  lastSeq: number;
  /** append time of the oldest queued record, null when none */
  firstAt: number | null;
}

/** count what is on disk; o(spool size). `chunk`: keys per nextv() */
export async function scanStore(db: SpoolDb, where: string, log: Logger, chunk: number): Promise<Scanned> {
  const started = Date.now();
  let records = 0;
  let bytes = 0;
  let deadLetters = 0;
  let firstAt: number | null = null;
  let lastSeq = -1;
  const queue = db.keys<string>({ gte: QUEUE_GTE, lt: QUEUE_LT, keyEncoding: 'utf8' });
  try {
    for (;;) {
      const keys = await queue.nextv(chunk);
      if (keys.length === 0) break;
      for (const key of keys) {
        const parsed = parseQueueKey(key);
        if (!parsed) {
          log.warn({ storage: where, spoolKey: key }, 'spool ignores a queue key it does not understand');
          continue;
        }
        records++;
        bytes += parsed.bytes;
        firstAt ??= parsed.at;
        lastSeq = parsed.seq;
      }
    }
  } finally {
    await queue.close();
  }
  const dead = db.keys<string>({ gte: DEAD_GTE, lt: DEAD_LT, keyEncoding: 'utf8' });
  try {
    for (;;) {
      const keys = await dead.nextv(chunk);
      if (keys.length === 0) break;
      deadLetters += keys.filter(isDeadKey).length;
    }
  } finally {
    await dead.close();
  }
  const meta = parseMeta(await db.get(META_KEY, UTF8));
  log.debug({ storage: where, records, bytes, deadLetters, scanMs: Date.now() - started }, 'spool storage scanned');
  return { records, bytes, deadLetters, batchNo: meta.batch, lastSeq: Math.max(lastSeq, meta.lastSeq), firstAt };
}
