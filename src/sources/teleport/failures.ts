// the exporter's failure reporting: each failed call explained and shown in status, logged without flooding,
// and counted toward giving up (exit-on-last-event); an export chunk that keeps failing is called stuck, loudly.
import type { Logger } from '../../log.js';
import { FailureLog, PermanentFailures, explainedText, type Explain, type ExplainedError } from './explain.js';

/** an export chunk that failed STUCK_AFTER times in a row: its date is not complete until it succeeds */
export interface StuckChunk {
  date: string;
  chunk: string;
  failures: number;
  /** epoch ms of the first failure in the row */
  since: number;
  lastError: string;
}

// a chunk failing this many times in a row is called stuck: logged as an error, listed in status
export const STUCK_AFTER = 5;

export class ExportFailures {
  /** retry cycles that failed for good: exit-on-last-event gives up on them */
  readonly permanent: PermanentFailures;
  /** the logging of failed calls */
  readonly log: FailureLog;
  /** the last failure of the current round, counted once per round */
  roundProblem: ExplainedError | undefined;

  constructor(
    private readonly explain: Explain,
    logger: Logger,
    now: () => number,
    exitOnLastEvent: boolean,
    retryMaxMs: number,
    /** the failure's text, for status */
    private readonly report: (error: string) => void,
  ) {
    this.permanent = new PermanentFailures(exitOnLastEvent, retryMaxMs, now);
    this.log = new FailureLog(logger, now);
  }

  /** a failed call: explained, recorded for status */
  failed(err: unknown): ExplainedError {
    const x = this.explain(err, 'events');
    this.report(explainedText(x));
    this.roundProblem = x;
    return x;
  }

  /** a call, a round or a page succeeded */
  succeeded(): void {
    this.permanent.succeeded();
    this.log.succeeded();
  }
}

// failures in a row per chunk; a chunk is never skipped (its events would be lost), so one that keeps failing
// holds its date back: that must be loud, not a warning among retries
export class StuckChunks {
  private readonly failing = new Map<string, StuckChunk>();

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly log: FailureLog,
    /** the stuck chunks now, for status */
    private readonly report: (stuck: StuckChunk[]) => void,
  ) {}

  private reportStuck(): void {
    this.report([...this.failing.values()].filter((f) => f.failures >= STUCK_AFTER));
  }

  /** the chunk under this state key streamed to its end */
  succeeded(key: string): void {
    if (this.failing.delete(key)) this.reportStuck();
  }

  /** the chunk failed once more: counted, and logged as stuck from STUCK_AFTER failures in a row */
  failed(key: string, date: string, chunk: string, x: ExplainedError): void {
    const f = this.failing.get(key) ?? { date, chunk, failures: 0, since: this.now(), lastError: '' };
    f.failures += 1;
    f.lastError = x.err;
    this.failing.set(key, f);
    if (f.failures >= STUCK_AFTER) {
      this.logger.error(
        {
          date,
          chunk,
          failures: f.failures,
          since: new Date(f.since).toISOString(),
          err: x.err,
          ...(x.permanent ? { hint: x.hint } : {}),
        },
        'teleport export chunk keeps failing: its events (and the rest of its date) are not exported until it succeeds; retrying from its saved cursor',
      );
      this.reportStuck();
    } else {
      this.log.failed(x, { date, chunk }, 'teleport export chunk failed; it will be retried from its saved cursor');
    }
  }
}
