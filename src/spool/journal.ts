// the journal in front of LevelDB: the writer's batches, one frame per group commit, written with one write(2) on
// the main thread (2-3 µs here, against 80+ µs for a LevelDB write's round trip through the thread pool) and, for
// appends that need it, one fdatasync. LevelDB gets the net effect later, in one batch (staging.ts), so records
// delivered before that never reach it.
// - two files, used in turn. a file's frames all carry its generation; the writer moves to the other file (rotate)
//   only once the file it overwrites holds nothing needed: after a synced LevelDB write holds everything of the
//   generations before, or (front.ts) after syncing the current file, whose generation began with all LevelDB
//   lacked, and starting the new one with a checkpoint frame of what LevelDB still lacks. frames of an older
//   generation left after the new end are ignored (frame.ts).
// - at open the frames of both files are put into LevelDB in generation order (a put or delete applied twice in
//   the same order leaves the same store), synced, and both files emptied.
import fs from 'node:fs';
import nodePath from 'node:path';
import type { Logger } from '../log.js';
import { decodeFrames, encodeFrame, type Frame } from './frame.js';
import type { BatchOp } from './plan.js';
import { Staging } from './staging.js';

export const JOURNAL_FILES = ['journal.0', 'journal.1'] as const;

export class Journal {
  private readonly fds: [number, number];
  private current = 0;
  private gen: number;
  /** bytes written to the current file in this generation */
  offset = 0;

  private constructor(fds: [number, number], gen: number) {
    this.fds = fds;
    this.gen = gen;
  }

  /**
   * open both files and hand what they hold to `replay` (LevelDB's synced write of the net ops); once it is done,
   * both files are emptied and synced, so nothing is replayed twice
   */
  static async open(dir: string, replay: (ops: BatchOp[]) => Promise<void>, log: Logger): Promise<Journal> {
    const paths = JOURNAL_FILES.map((name) => nodePath.join(dir, name));
    const fds = paths.map((p) => fs.openSync(p, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600)) as [number, number];
    try {
      const frames: Frame[] = [];
      for (const fd of fds) frames.push(...decodeFrames(fs.readFileSync(fd)));
      frames.sort((a, b) => a.gen - b.gen);
      const staging = new Staging(false);
      for (const frame of frames) staging.add(frame.ops);
      if (staging.size > 0) {
        await replay(staging.list());
        log.info({ storage: dir, frames: frames.length, ops: staging.size }, 'spool journal replayed into LevelDB');
      }
      for (const fd of fds) {
        fs.ftruncateSync(fd, 0);
        fs.fsyncSync(fd);
      }
      // the files' names too: an os crash must not take a journal file whose frames were synced
      const dirFd = fs.openSync(dir, 'r');
      try {
        fs.fsyncSync(dirFd);
      } finally {
        fs.closeSync(dirFd);
      }
      const last = frames.length > 0 ? frames[frames.length - 1].gen : 0;
      return new Journal(fds, last + 1);
    } catch (err) {
      for (const fd of fds) fs.closeSync(fd);
      throw err;
    }
  }

  /** write one frame at the end of the current generation; throws when it could not be written whole */
  write(ops: readonly BatchOp[]): void {
    const frame = encodeFrame(this.gen, ops);
    const fd = this.fds[this.current];
    let done = 0;
    try {
      while (done < frame.length) done += fs.writeSync(fd, frame, done, frame.length - done, this.offset + done);
    } catch (err) {
      // the next frame goes where this one started: a torn one is overwritten, or cut off here if it is longer
      try {
        if (done > 0) fs.ftruncateSync(fd, this.offset);
      } catch {
        // the crc keeps a torn frame out of any replay anyway
      }
      throw err;
    }
    this.offset += frame.length;
  }

  /** fdatasync of the current file: every frame written to it so far is on disk once this resolves */
  datasync(): Promise<void> {
    const fd = this.fds[this.current];
    return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * LevelDB holds (synced) everything written so far: the next frames go to the other file, a new generation.
   * empty: also empty both files now, so that no frame of an older generation is replayed over writes LevelDB got
   * without the journal (dead letters, replays)
   */
  rotate(empty: boolean): void {
    this.current ^= 1;
    this.gen++;
    this.offset = 0;
    if (empty) for (const fd of this.fds) fs.ftruncateSync(fd, 0);
  }

  /** close the files; emptied first when LevelDB holds everything (a clean stop), so the next open replays nothing */
  close(empty: boolean): void {
    for (const fd of this.fds) {
      try {
        if (empty) fs.ftruncateSync(fd, 0);
      } finally {
        fs.closeSync(fd);
      }
    }
  }
}
