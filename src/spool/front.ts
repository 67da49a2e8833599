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
  /** the journal file is full: the next frame goes to the other file, after a checkpoint */
  private checkpointDue = false;
  /** the checkpoint's rotation is done, its frame not yet written (a write failed) */
  private checkpointRotated = false;

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
    if (this.checkpointDue) {
      // a LevelDB write not yet synced (rotateDue) holds ops the current file must keep until it is, and a removal
      // LevelDB got directly (bypassed) must not meet older frames: a synced LevelDB write moves the journal on
      if (this.rotateDue || this.bypassed) {
        this.checkpointDue = false;
        this.flush();
      } else await this.checkpoint();
    }
    this.journal.write(batch);
    if (synced) await this.journal.datasync();
  }

  /**
   * a frame's ops are committed: staged. LevelDB gets them once the staging is past its bound; a full journal file
   * moves to the other one with what is staged (checkpoint), or when that is too big, also by way of LevelDB
   */
  committed(batch: BatchOp[]): void {
    this.staging.add(batch);
    const { stagingMaxChars, journalMaxBytes } = this.bounds;
    if (this.staging.chars < stagingMaxChars && this.journal.offset < journalMaxBytes) return;
    // the next write decides whether a checkpoint can be made (see write)
    if (this.staging.chars < stagingMaxChars && this.staging.bytes <= journalMaxBytes / 2) this.checkpointDue = true;
    else this.flush();
  }

  /**
   * the other file gets a new generation that starts with one frame of what is staged: all that LevelDB lacks. so
   * the current file, once synced, is all the older one held that mattered, and the older one can be overwritten.
   * in the steady state (records delivered within a file's worth of traffic) LevelDB is then never written at all
   */
  private async checkpoint(): Promise<void> {
    if (!this.checkpointRotated) {
      await this.journal.datasync();
      this.journal.rotate(false);
      this.checkpointRotated = true;
    }
    // a failed write leaves the offset where it was: the next try writes the checkpoint again, in the same place
    if (this.staging.size > 0) this.journal.write(this.staging.list());
    this.checkpointDue = false;
    this.checkpointRotated = false;
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
      // LevelDB holds everything: the new file needs no checkpoint
      this.checkpointDue = false;
      this.checkpointRotated = false;
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
