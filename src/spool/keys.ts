// key layout of the spool (utf8 keys, ordered bytewise; the prefixes sort d < m < q < s):
//   d!<at:12 hex>!<seq:16 hex>   dead letter, ordered by when it was dead-lettered (purge by time is a key range)
//   m!commit                     meta: "<batch number> <highest sequence written>", put in every batch
//   q!<seq:16 hex>!<at:12 hex>!<bytes:8 hex>
//                                queued record, ordered by sequence; at = append time in epoch ms and bytes = utf8
//                                length of the value, kept in the key so the value stays exactly the appended JSON
//                                and the scan at open counts records and bytes from keys alone
//   s!<caller key>               state (poller cursors)
// pure: no I/O.

export const QUEUE_GTE = 'q!';
export const QUEUE_LT = 'q"';
export const DEAD_GTE = 'd!';
export const DEAD_LT = 'd"';
export const STATE_PREFIX = 's!';
export const META_KEY = 'm!commit';

const QUEUE_KEY_LENGTH = 2 + 16 + 1 + 12 + 1 + 8;
const DEAD_KEY_LENGTH = 2 + 12 + 1 + 16;
// 12 hex digits of milliseconds last until the year 10889
const MAX_AT = 0xffffffffffff;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function clampAt(at: number): number {
  return Math.min(Math.max(Math.floor(at), 0), MAX_AT);
}

export function queueKey(seq: number, at: number, bytes: number): string {
  return queueKeyAt(at)(seq, bytes);
}

/** queueKey for records appended at one time (one batch): the time's digits are worked out once */
export function queueKeyAt(at: number): (seq: number, bytes: number) => string {
  const middle = '!' + hex(clampAt(at), 12) + '!';
  return (seq, bytes) => QUEUE_GTE + hex(seq, 16) + middle + hex(bytes, 8);
}

/** the smallest key a record with this sequence (or a later one) can have */
export function queueFrom(seq: number): string {
  return QUEUE_GTE + hex(seq, 16);
}

const HEX = /^q![0-9a-f]{16}![0-9a-f]{12}![0-9a-f]{8}$/;

export function parseQueueKey(key: string): { seq: number; at: number; bytes: number } | null {
  if (key.length !== QUEUE_KEY_LENGTH || !HEX.test(key)) return null;
  const seq = parseInt(key.slice(2, 18), 16);
  const at = parseInt(key.slice(19, 31), 16);
  const bytes = parseInt(key.slice(32), 16);
  return Number.isSafeInteger(seq) ? { seq, at, bytes } : null;
}

export function deadKey(at: number, seq: number): string {
  return DEAD_GTE + hex(clampAt(at), 12) + '!' + hex(seq, 16);
}

/** the upper bound (exclusive) of dead letters dead-lettered before this time */
export function deadBefore(at: number): string {
  return DEAD_GTE + hex(clampAt(at), 12);
}

export function isDeadKey(key: string): boolean {
  return key.length === DEAD_KEY_LENGTH && key.startsWith(DEAD_GTE);
}

export function stateKey(key: string): string {
  return STATE_PREFIX + key;
}

export function formatMeta(batch: number, lastSeq: number): string {
  return `${batch} ${lastSeq}`;
}

export function parseMeta(value: string | undefined): { batch: number; lastSeq: number } {
  const [batch, lastSeq] = (value ?? '').split(' ').map(Number);
  return {
    batch: Number.isSafeInteger(batch) ? batch : 0,
    lastSeq: Number.isSafeInteger(lastSeq) ? lastSeq : -1,
  };
}
