// acking delivered logs and dead-lettering refused ones, retried until the spool takes it
import type { Logger } from '../../log.js';
import type { Spool, SpoolItem } from '../../spool/types.js';

export interface SettleDeps {
  spool: Spool;
  logger: Logger;
  /** the sink's counters of logs acked and dead-lettered */
  counters: { delivered: number; deadLettered: number };
  /** the wait before try attempt + 1 */
  backoff(attempt: number): number;
  /** sleeps ms; false when the sink is stopping */
  pause(ms: number): Promise<boolean>;
}

export function createSettle({ spool, logger, counters, backoff, pause }: SettleDeps) {
  // a failed ack or dead-letter (a disk full for a moment) is retried until it lands: left alone, the records would
  // stay taken, counted against the spool's bound and never deleted. repeating is safe: gone keys are skipped.
  // when the sink stops first, they stay in the spool and are sent again after a restart (never lost).
  return async function settle(
    action: 'ack' | 'deadLetter',
    items: SpoolItem[],
    reason = '',
    status: number | null = null,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (action === 'ack') {
          await spool.ack(items);
          counters.delivered += items.length;
        } else {
          await spool.deadLetter(items, reason, status);
          counters.deadLettered += items.length;
          logger.warn(
            { status, spoolKey: items[0]?.key, reason },
            'datadog refused a log for good: moved to the dead-letter store (see `spool ls --dead`)',
          );
        }
        return;
      } catch (error) {
        const delay = backoff(attempt);
        logger.error(
          { err: (error as Error).message, logs: items.length, retryInMs: delay },
          `could not ${action === 'ack' ? 'ack delivered' : 'dead-letter refused'} logs in the spool; retrying`,
        );
        if (!(await pause(delay))) return;
      }
    }
  };
}
