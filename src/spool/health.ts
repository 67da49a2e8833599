// the spool's health as people read it: the warnings that the live /status, `status` on the storage and
// `spool stats` all give. pure.
import { formatDuration } from '../format.js';
import { fail, pass, type Check } from '../health.js';
import type { SpoolStats } from './types.js';
import type { WalDamage } from './wal-damage.js';

export const SPOOL_THRESHOLDS = Object.freeze({
  oldestWarnSeconds: 12 * 3600, // warn well before datadog's 18 h indexing window
  datadogWindowSeconds: 18 * 3600,
  spoolWarnRatio: 0.9,
});

export function spoolCheck(spool: SpoolStats | undefined, storage: string): Check<'spool'> {
  return spool
    ? pass('spool', `open: ${spool.records} records queued`)
    : fail('spool', `spool at ${storage} is not open`);
}

/** the spool's storage was found damaged (this start, or kept from an earlier one): every spool view says so */
export function walWarnings(spool: { walDamage?: WalDamage | null; walDamageKept?: string[] }): string[] {
  const out: string[] = [];
  const damage = spool.walDamage;
  if (damage) {
    out.push(
      `The spool's storage was damaged: at start-up LevelDB skipped ${damage.droppedBytes} bytes of its write-ahead log (${damage.reasons.join('; ')}), so records acknowledged before the last stop may be lost.${damage.keptIn ? ` The damaged log is kept in ${damage.keptIn}.` : ''} Check the disk.`,
    );
  }
  const earlier = (spool.walDamageKept ?? []).filter((d) => d !== damage?.keptIn);
  if (earlier.length > 0) {
    out.push(
      `The spool's storage holds damaged write-ahead logs kept from an earlier start (${earlier.join(', ')}): records may have been lost then. Remove them once inspected.`,
    );
  }
  return out;
}

/** warnings about the spool that both the live document and the on-disk view give */
export function spoolWarnings(spool: {
  records: number;
  deadLetters: number;
  oldestAgeSeconds: number | null;
  bytes: number;
  maxBytes: number;
  walDamage?: WalDamage | null;
  walDamageKept?: string[];
}): string[] {
  const out: string[] = [];
  out.push(...walWarnings(spool));
  const age = spool.oldestAgeSeconds;
  if (age !== null && age > SPOOL_THRESHOLDS.datadogWindowSeconds) {
    out.push(
      `The oldest undelivered record was queued ${formatDuration(age)} ago, past Datadog's 18 h window: it will not be indexed as current. Check why delivery is stuck (last errors, API key).`,
    );
  } else if (age !== null && age > SPOOL_THRESHOLDS.oldestWarnSeconds) {
    out.push(
      `The oldest undelivered record was queued ${formatDuration(age)} ago: Datadog does not index logs over 18 h old as current. Check why delivery is slow (last errors, API key).`,
    );
  }
  if (spool.maxBytes > 0 && spool.bytes / spool.maxBytes >= SPOOL_THRESHOLDS.spoolWarnRatio) {
    out.push(
      `The spool is ${Math.floor((spool.bytes / spool.maxBytes) * 100)}% full: at 100% the ingest answers 503 and the poller waits.`,
    );
  }
  if (spool.deadLetters > 0) {
    out.push(
      `${spool.deadLetters} dead letter${spool.deadLetters === 1 ? '' : 's'}: Datadog refused them for good; inspect with \`spool ls --dead\`, then replay or purge.`,
    );
  }
  return out;
}
