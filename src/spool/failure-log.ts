// the writer's failure log: a full disk fails every group commit, so one line per interval, with how many failed
// writes were folded into it.
import { LogInterval, type Logger } from '../log.js';

export class FailureLog {
  private readonly interval: LogInterval;
  private notLogged = 0;

  constructor(
    private readonly log: Logger,
    private readonly where: string,
    private readonly now: () => number,
    intervalMs: number,
  ) {
    this.interval = new LogInterval(intervalMs);
  }

  failed(err: unknown, ops: number): void {
    const t = this.now();
    if (!this.interval.due(t)) {
      this.notLogged += 1;
      return;
    }
    this.log.error(
      { storage: this.where, err, ops, failedWritesNotLogged: this.notLogged },
      'spool write failed; its callers got an error',
    );
    this.interval.mark(t);
    this.notLogged = 0;
  }
}
