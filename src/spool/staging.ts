// what the journal holds and LevelDB does not yet: the net effect of the frames written since the last flush,
// one op per key (the last one). a record acked before it was flushed never reaches LevelDB: its put and its
// delete cancel out. pure: no I/O.
import { QUEUE_GTE } from './keys.js';
import type { BatchOp } from './plan.js';

export class Staging {
  private readonly ops = new Map<string, BatchOp>();
  /** utf8 length of the values staged, roughly (string length): for the flush threshold */
  chars = 0;

  /**
   * cancel: a delete of a queue record whose put is staged drops both. right while running, where every staged
   * queue put is a new key LevelDB has never held; not when replaying a journal onto a store that may hold them.
   */
  constructor(private readonly cancel: boolean) {}

  get size(): number {
    return this.ops.size;
  }

  add(batch: readonly BatchOp[]): void {
    for (const op of batch) {
      const previous = this.ops.get(op.key);
      if (previous?.type === 'put') this.chars -= previous.value.length;
      if (this.cancel && op.type === 'del' && previous?.type === 'put' && op.key.startsWith(QUEUE_GTE)) {
        this.ops.delete(op.key);
        continue;
      }
      // a key keeps its first place in the map: order between different keys does not matter in one batch
      this.ops.set(op.key, op);
      if (op.type === 'put') this.chars += op.value.length;
    }
  }

  list(): BatchOp[] {
    return [...this.ops.values()];
  }

  clear(): void {
    this.ops.clear();
    this.chars = 0;
  }
}
