// the journal's frames: what encodes decodes the same, and what a crash or a reused file leaves is never read as
// records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { crc32 } from 'node:zlib';
import { decodeFrames, encodeFrame, FRAME_HEADER } from '../../src/spool/frame.js';
import type { BatchOp } from '../../src/spool/plan.js';

const A: BatchOp[] = [
  { type: 'put', key: 'q!0000000000000001', value: '{"message":"hello"}' },
  { type: 'del', key: 'q!0000000000000000' },
  { type: 'put', key: 'm!commit', value: '' },
];
const B: BatchOp[] = [{ type: 'put', key: 's!ключ', value: 'ünïcode ✓ 𝄞' }];

test('frames decode to what was encoded, in order, utf8 and empty values included', () => {
  for (const gen of [1, 2 ** 32 + 7, Number.MAX_SAFE_INTEGER]) {
    const frames = decodeFrames(Buffer.concat([encodeFrame(gen, A), encodeFrame(gen, B), encodeFrame(gen, [])]));
    assert.deepEqual(frames, [
      { gen, ops: A },
      { gen, ops: B },
      { gen, ops: [] },
    ]);
  }
});

test('what is not a whole frame of the first generation ends the frames', () => {
  const one = encodeFrame(3, A);
  const two = encodeFrame(3, B);
  const flipped = Buffer.from(two);
  flipped[FRAME_HEADER + 3] ^= 0x01;
  const cases: Array<{ name: string; bytes: Buffer; gens: number[] }> = [
    { name: 'empty file', bytes: Buffer.alloc(0), gens: [] },
    { name: 'zeros', bytes: Buffer.alloc(4096), gens: [] },
    { name: 'a header cut short', bytes: Buffer.concat([one, two.subarray(0, FRAME_HEADER - 1)]), gens: [3] },
    { name: 'a body cut short (torn write)', bytes: Buffer.concat([one, two.subarray(0, two.length - 1)]), gens: [3] },
    { name: 'a flipped bit (crc)', bytes: Buffer.concat([one, flipped, encodeFrame(3, A)]), gens: [3] },
    { name: 'zeros after the end', bytes: Buffer.concat([one, Buffer.alloc(100)]), gens: [3] },
    {
      name: "an older generation's frames after the newest end (a reused file)",
      bytes: Buffer.concat([encodeFrame(9, A), encodeFrame(7, B), encodeFrame(7, A)]),
      gens: [9],
    },
    { name: 'a newer generation after (never written so)', bytes: Buffer.concat([one, encodeFrame(4, B)]), gens: [3] },
  ];
  for (const c of cases) {
    assert.deepEqual(
      decodeFrames(c.bytes).map((f) => f.gen),
      c.gens,
      c.name,
    );
  }
});

test('a frame whose length runs past its ops is refused, not read past', () => {
  const frame = encodeFrame(1, [{ type: 'put', key: 'k', value: 'v' }]);
  // claim a longer key than the body holds, and fix the crc so only the op parser can refuse it
  const bad = Buffer.from(frame);
  bad.writeUInt32LE(1000, FRAME_HEADER + 1);
  bad.writeUInt32LE(crc32(bad.subarray(8)), 4);
  assert.deepEqual(decodeFrames(bad), []);
});
