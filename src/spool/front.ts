// the journal in front of the writer's LevelDB writes: which batches it takes, what it stages for LevelDB, and when
// it moves to its other file. the writer calls it around every commit; the files themselves are journal.ts's.
import type { Journal } from './journal.js';
import type { BatchOp, Op } from './plan.js';
import { Staging } from './staging.js';

export interface FrontBounds {
  /** LevelDB gets the staged ops once their values reach this many chars, or the journal file this many bytes */
  stagingMaxChars: number;
  journalMaxBytes: number;
}

/**
 * a batch the journal takes: appends without state, acks (neither needs anything read from the store) and the
 * background sync, which syncs the journal
 */
function journalable(op: Op): boolean {
  return (
    (op.kind === 'append' && op.state.length === 0) || (op.kind === 'remove' && op.dead === null) || op.kind === 'sync'
  );
}

export class JournalFront {
  /** what the journal holds and LevelDB does not yet */
  private readonly staging = new Staging(true);
  /** staged ops went to LevelDB without sync: the journal moves on after the next synced write */
  private rotateDue = false;
  /** a batch that went to LevelDB without the journal removed queue records: empty the journal at rotation */
  private bypassed = false;
  private flushRequested = false;

  /** requestFlush: queue a flush op for the writer */
  constructor(
    private readonly journal: Journal,
    private readonly bounds: FrontBounds,
    private readonly requestFlush: () => void,
  ) {}

  get staged(): number {
    return this.staging.size;
  }

  /**
   * whether the journal commits these ops (else they go to LevelDB, with what is staged); lookup: the keys planning
   * them would read from the store (keysToRead)
   */
  takes(ops: Op[], lookup: ReadonlySet<string>): boolean {
    return lookup.size === 0 && ops.every(journalable);
  }

  /** one frame, synced when asked; throws when it could not be written (or synced) */
  async write(batch: BatchOp[], synced: boolean): Promise<void> {
    this.journal.write(batch);
    if (synced) await this.journal.datasync();
  }

  /** a frame's ops are committed: staged for LevelDB, which gets them once the bounds are reached */
  committed(batch: BatchOp[]): void {
    this.staging.add(batch);
    const { stagingMaxChars, journalMaxBytes } = this.bounds;
    if (this.staging.chars < stagingMaxChars && this.journal.offset < journalMaxBytes) return;
    this.flush();
  }

  /** queue one flush (a close, or the bounds) */
  flush(): void {
    if (this.flushRequested) return;
    this.flushRequested = true;
    this.requestFlush();
  }

  /** what a LevelDB write must carry first; hand it back to stored() or forget it on failure (it stays staged) */
  take(): BatchOp[] {
    return this.staging.size > 0 ? this.staging.list() : [];
  }

  /** a LevelDB write landed: `carried` staged ops, synced or not; the journal moves on once a synced one holds all */
  stored(ops: Op[], carried: number, synced: boolean): void {
    if (carried > 0) {
      this.staging.clear();
      this.rotateDue = true;
    }
    // removals LevelDB got without the journal: an older generation replayed over them could bring records back
    if (ops.some((op) => op.kind === 'remove')) this.bypassed = true;
    if (synced && (this.rotateDue || this.journal.offset > 0)) {
      this.journal.rotate(this.bypassed);
      this.rotateDue = false;
      this.bypassed = false;
    }
    this.settledOps(ops);
  }

  /** the ops of a write are done, landed or failed: a flush among them may be requested again */
  settledOps(ops: Op[]): void {
    if (ops.some((op) => op.kind === 'flush')) this.flushRequested = false;
  }

  /** at close: whether LevelDB must still get something */
  get holdsAny(): boolean {
    return this.staging.size > 0 || this.journal.offset > 0;
  }

  /** after the last write: whether LevelDB holds everything the journal does */
  get settled(): boolean {
    return this.staging.size === 0 && !this.rotateDue;
  }
}
