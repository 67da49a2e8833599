// the journal's frame: one group of the writer's batch ops, as written with one write(2). pure: no I/O.
//   u32 length of the ops | u32 crc32 of the rest | u64 generation (lo, hi) | ops
//   op: u8 1 (put) or 2 (del) | u32 key bytes | key | (put) u32 value bytes | value
// a frame is whole or ignored: the crc covers its generation and its ops, so a torn write, zeros or an older
// generation's bytes after the end of the newest one are never taken for records.
import { Buffer } from 'node:buffer';
import { crc32 } from 'node:zlib';
import type { BatchOp } from './plan.js';

export const FRAME_HEADER = 16;
const PUT = 1;
const DEL = 2;
const TWO_32 = 2 ** 32;

export interface Frame {
  gen: number;
  ops: BatchOp[];
}

export function encodeFrame(gen: number, ops: readonly BatchOp[]): Buffer {
  let size = FRAME_HEADER;
  for (const op of ops) {
    size += 5 + Buffer.byteLength(op.key, 'utf8');
    if (op.type === 'put') size += 4 + (op.bytes ?? Buffer.byteLength(op.value, 'utf8'));
  }
  const buf = Buffer.allocUnsafe(size);
  let at = FRAME_HEADER;
  for (const op of ops) {
    buf[at] = op.type === 'put' ? PUT : DEL;
    const k = buf.write(op.key, at + 5, 'utf8');
    buf.writeUInt32LE(k, at + 1);
    at += 5 + k;
    if (op.type === 'put') {
      const v = buf.write(op.value, at + 4, 'utf8');
      buf.writeUInt32LE(v, at);
      at += 4 + v;
    }
  }
  buf.writeUInt32LE(size - FRAME_HEADER, 0);
  buf.writeUInt32LE(gen % TWO_32, 8);
  buf.writeUInt32LE(Math.floor(gen / TWO_32), 12);
  buf.writeUInt32LE(crc32(buf.subarray(8)), 4);
  return buf;
}

/** the ops of one frame's body, or null when they do not parse to its end */
function decodeOps(buf: Buffer, start: number, end: number): BatchOp[] | null {
  const ops: BatchOp[] = [];
  let at = start;
  while (at < end) {
    if (end - at < 5) return null;
    const type = buf[at];
    const keyEnd = at + 5 + buf.readUInt32LE(at + 1);
    if ((type !== PUT && type !== DEL) || keyEnd > end) return null;
    const key = buf.toString('utf8', at + 5, keyEnd);
    if (type === DEL) {
      ops.push({ type: 'del', key });
      at = keyEnd;
      continue;
    }
    if (end - keyEnd < 4) return null;
    const valueEnd = keyEnd + 4 + buf.readUInt32LE(keyEnd);
    if (valueEnd > end) return null;
    ops.push({ type: 'put', key, value: buf.toString('utf8', keyEnd + 4, valueEnd) });
    at = valueEnd;
  }
  return ops;
}

/**
 * the frames of one generation from the start of a file: the first frame's generation, up to the first frame that
 * is cut short, fails its crc, or belongs to another generation (what a reused file holds after the newest end)
 */
export function decodeFrames(buf: Buffer): Frame[] {
  const frames: Frame[] = [];
  let at = 0;
  let gen: number | null = null;
  while (buf.length - at >= FRAME_HEADER) {
    const end = at + FRAME_HEADER + buf.readUInt32LE(at);
    if (end > buf.length) break;
    if (buf.readUInt32LE(at + 4) !== crc32(buf.subarray(at + 8, end))) break;
    const frameGen = buf.readUInt32LE(at + 8) + buf.readUInt32LE(at + 12) * TWO_32;
    if (gen !== null && frameGen !== gen) break;
    const ops = decodeOps(buf, at + FRAME_HEADER, end);
    if (!ops) break;
    gen = frameGen;
    frames.push({ gen, ops });
    at = end;
  }
  return frames;
}
