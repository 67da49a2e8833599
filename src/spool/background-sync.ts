// the background sync: appends written without fsync (the ingest's `written` acknowledgement) are made durable by
// a synced write at most intervalMs after the first of them committed. any synced write does it sooner.
import type { Op } from './plan.js';

export class BackgroundSync {
  /** when the oldest write not yet synced committed (appends with { sync: false }), null when all are synced */
  unsyncedSince: number | null = null;
  /** synced writes: all of them, and those made by the background sync alone */
  readonly counts = { commit: 0, background: 0 };
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  /** request(): queue a sync op for the writer */
  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number,
    private readonly request: () => void,
  ) {}

  /**
   * a synced write makes every earlier write durable; appends written without one arm the background sync, so
   * they are durable within syncIntervalMs
   */
  committed(ops: Op[], synced: boolean): void {
    if (synced) {
      this.counts.commit++;
      if (ops.some((op) => op.kind === 'sync')) this.counts.background++;
      this.unsyncedSince = null;
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      return;
    }
    if (this.unsyncedSince !== null || !ops.some((op) => op.kind === 'append')) return;
    this.unsyncedSince = this.now();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.unsyncedSince === null || this.stopped) return;
      this.request();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** at close: the writer syncs what is left itself, before the store closes */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
