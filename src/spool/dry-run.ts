// the spool of a dry run (app.ts openStorage): the poller's state in memory for this run, read from the storage
// when it could be, never a record.
import type { DeadLetter, Spool, SpoolItem, SpoolStats, StateOp } from './types.js';

/**
 * the spool a dry run uses without storage: poller state in memory for this run, never a record (dry run's emit
 * appends none). its stats are those of an empty spool, so /readyz and /status stay meaningful.
 */
export class DryRunState implements Spool {
  private readonly state: Map<string, string>;
  /** `state`: the poller's state read from the storage, to carry on from its cursors */
  constructor(
    private readonly maxBytes: number,
    state: ReadonlyArray<{ key: string; value: string }> = [],
  ) {
    this.state = new Map(state.map((r) => [r.key, r.value]));
  }

  private apply(ops: StateOp[]): void {
    for (const op of ops) {
      if (op.type === 'put') this.state.set(op.key, op.value);
      else this.state.delete(op.key);
    }
  }

  async append(values: string[], state: StateOp[] = []): Promise<void> {
    if (values.length > 0) throw new Error('dry run queues no records: expected emit to write nothing in dry run');
    this.apply(state);
  }
  async take(): Promise<SpoolItem[]> {
    return [];
  }
  async ack(): Promise<void> {}
  async deadLetter(): Promise<void> {}
  async getState(key: string): Promise<string | undefined> {
    return this.state.get(key);
  }
  async putState(ops: StateOp[]): Promise<void> {
    this.apply(ops);
  }
  async listState(prefix: string): Promise<Array<{ key: string; value: string }>> {
    return [...this.state]
      .filter(([key]) => key.startsWith(prefix))
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([key, value]) => ({ key, value }));
  }
  async waitForSpace(): Promise<void> {}
  hasSpace(): boolean {
    return true;
  }
  stats(): SpoolStats {
    return { records: 0, bytes: 0, maxBytes: this.maxBytes, inFlight: 0, deadLetters: 0, oldestAppendedAt: null };
  }
  async listDead(): Promise<DeadLetter[]> {
    return [];
  }
  async replayDead(): Promise<number> {
    return 0;
  }
  async purgeDead(): Promise<number> {
    return 0;
  }
  async close(): Promise<void> {}
}
