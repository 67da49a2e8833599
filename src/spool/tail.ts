// the in-memory tail: committed records not yet taken, so take() serves what was just appended without
// reading it back from LevelDB. a plain fifo with a moving head (no O(n) shift per record).

export interface TailEntry {
  key: string;
  value: string;
  bytes: number;
  seq: number;
  at: number;
}

export class Tail {
  private entries: TailEntry[] = [];
  private head = 0;
  bytes = 0;

  get size(): number {
    return this.entries.length - this.head;
  }

  first(): TailEntry | undefined {
    return this.entries[this.head];
  }

  push(entry: TailEntry): void {
    this.entries.push(entry);
    this.bytes += entry.bytes;
  }

  /** remove and return the oldest entries: at most maxItems and maxBytes, but at least one */
  shift(maxItems: number, maxBytes: number): TailEntry[] {
    const out: TailEntry[] = [];
    let bytes = 0;
    while (this.head < this.entries.length && out.length < maxItems) {
      const entry = this.entries[this.head];
      if (out.length > 0 && bytes + entry.bytes > maxBytes) break;
      out.push(entry);
      bytes += entry.bytes;
      this.head++;
    }
    this.bytes -= bytes;
    this.compact();
    return out;
  }

  /** drop one entry by key (a record deleted before it was taken); linear, only on that rare path */
  remove(key: string): boolean {
    for (let i = this.head; i < this.entries.length; i++) {
      if (this.entries[i].key === key) {
        this.bytes -= this.entries[i].bytes;
        this.entries.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  clear(): void {
    this.entries = [];
    this.head = 0;
    this.bytes = 0;
  }

  private compact(): void {
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
