// what the journal holds and LevelDB does not yet: the net effect of the frames written since the last flush,
// one op per key (the last one). a record acked before it was flushed never reaches LevelDB: its put and its
// delete cancel out. pure: no I/O.
import { Buffer } from 'node:buffer';
import { QUEUE_GTE } from './keys.js';
import type { BatchOp } from './plan.js';

export class Staging {
  private readonly ops = new Map<string, BatchOp>();
  /** utf8 length of the values staged, roughly (string length): for the flush threshold */
  chars = 0;
  /** utf8 bytes of the keys and values staged: about the size of one frame holding them all */
  bytes = 0;

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
      if (previous !== undefined) this.forget(previous);
      if (this.cancel && op.type === 'del' && previous?.type === 'put' && op.key.startsWith(QUEUE_GTE)) {
        this.ops.delete(op.key);
        continue;
      }
      // a key keeps its first place in the map: order between different keys does not matter in one batch
      this.ops.set(op.key, op);
      this.bytes += opBytes(op);
      if (op.type === 'put') this.chars += op.value.length;
    }
  }

  list(): BatchOp[] {
    return [...this.ops.values()];
  }

  clear(): void {
    this.ops.clear();
    this.chars = 0;
    this.bytes = 0;
  }

  private forget(op: BatchOp): void {
    this.bytes -= opBytes(op);
    if (op.type === 'put') this.chars -= op.value.length;
  }
}

// keys are ascii (keys.ts); a queue record's put knows its value's length
function opBytes(op: BatchOp): number {
  return op.type === 'put' ? op.key.length + (op.bytes ?? Buffer.byteLength(op.value, 'utf8')) : op.key.length;
}
