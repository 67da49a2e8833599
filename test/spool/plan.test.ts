// batch planning (pure): which keys the writer reads first, which ops need fsync, and what one group commit puts
// into its LevelDB batch and changes in memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { META_KEY, deadKey, formatMeta, queueKey, stateKey } from '../../src/spool/keys.js';
import {
  checkStateOps,
  keysToRead,
  needsSync,
  planBatch,
  type BatchOp,
  type Effects,
  type Op,
  type Taken,
} from '../../src/spool/plan.js';
import type { SpoolItem, StateOp } from '../../src/spool/types.js';

const AT = 1_700_000_000_000;
const EARLIER = AT - 60_000;
const done = { resolve: () => {}, reject: () => {} };

function append(values: string[], state: StateOp[] = [], sync = true): Op {
  const sizes = values.map((v) => Buffer.byteLength(v));
  return { kind: 'append', values, sizes, bytes: sizes.reduce((a, b) => a + b, 0), state, sync, done };
}
const ack = (items: SpoolItem[]): Op => ({ kind: 'remove', items, dead: null, done });
const dead = (items: SpoolItem[], reason: string, status: number | null): Op => ({
  kind: 'remove',
  items,
  dead: { reason, status },
  done,
});
const state = (ops: StateOp[]): Op => ({ kind: 'state', state: ops, done });
const replay = (keys: string[]): Op => ({ kind: 'replay', keys, done });
const purge = (keys: string[]): Op => ({ kind: 'purge', keys, done });
const sync = (): Op => ({ kind: 'sync', done });

// records already in the store: q1 taken by this process (in flight), q2 and q3 not taken
const q1 = { key: queueKey(1, EARLIER, 5), value: '"one"', bytes: 5 };
const q2 = { key: queueKey(2, EARLIER, 5), value: '"two"', bytes: 5 };
const q3 = { key: queueKey(3, EARLIER, 7), value: '"three"', bytes: 7 };
const IN_FLIGHT = new Map<string, Taken>([[q1.key, { bytes: 5 }]]);
const d1 = deadKey(EARLIER, 11);
const d2 = deadKey(EARLIER, 12);
const d3 = deadKey(EARLIER, 13);
const letter = (value: string) => JSON.stringify({ reason: 'HTTP 400', status: 400, at: EARLIER, value });

test('keysToRead: only what the store alone knows (records not taken here, dead letters)', () => {
  const table: Array<[string, Op[], string[]]> = [
    ['appends, state and syncs read nothing', [append(['"a"'], [{ type: 'put', key: 'c', value: '1' }]), sync()], []],
    ['an ack of a record in flight reads nothing', [ack([q1])], []],
    ['an ack of a record not taken here reads it', [ack([q2]), dead([q3], 'r', 400)], [q2.key, q3.key]],
    ['a key that is not a queue key is never read', [ack([{ key: 'q!zz', value: '', bytes: 0 }])], []],
    ['replay and purge read their dead letters once', [replay([d1, d2]), purge([d2, 'q!x'])], [d1, d2]],
  ];
  for (const [name, ops, keys] of table) assert.deepEqual([...keysToRead(ops, IN_FLIGHT)], keys, name);
});

test('needsSync: acks alone and appends asked not to sync go without fsync, everything else syncs', () => {
  const table: Array<[Op, boolean]> = [
    [append(['"a"']), true],
    [append(['"a"'], [], false), false],
    [state([{ type: 'del', key: 'c' }]), true],
    [sync(), true],
    [ack([q1]), false],
    [dead([q1], 'r', null), true],
    [replay([d1]), true],
    [purge([d1]), true],
  ];
  for (const [op, synced] of table) assert.equal(needsSync(op), synced, JSON.stringify(op));
});

test('checkStateOps: refuses what is not a list of put/del ops with string keys and values', () => {
  const table: Array<[unknown, RegExp | null]> = [
    [[], null],
    [
      [
        { type: 'put', key: 'c', value: 'v' },
        { type: 'del', key: 'd' },
      ],
      null,
    ],
    [{ type: 'put', key: 'c', value: 'v' }, /must be an array/],
    [[null], /needs type put or del/],
    [[{ type: 'set', key: 'c', value: 'v' }], /needs type put or del/],
    [[{ type: 'del', key: 7 }], /needs type put or del/],
    [[{ type: 'put', key: 'c', value: 1 }], /state put c needs a string value/],
  ];
  for (const [ops, refused] of table) {
    if (refused) assert.throws(() => checkStateOps(ops as StateOp[]), refused, JSON.stringify(ops));
    else assert.doesNotThrow(() => checkStateOps(ops as StateOp[]), JSON.stringify(ops));
  }
});

interface Case {
  name: string;
  ops: Op[];
  /** stored values of keysToRead(ops) that exist */
  found?: Array<[string, string]>;
  batch: BatchOp[];
  effects: Partial<Effects>;
  results: number[];
  landedKey?: string;
  unreadable?: string[];
}

// sequences continue from 20, and this is batch 8
const SEQ = 20;
const NO = 8;
const meta = (lastSeq: number): BatchOp => ({ type: 'put', key: META_KEY, value: formatMeta(NO, lastSeq) });
const put = (key: string, value: string): BatchOp => ({ type: 'put', key, value });
const del = (key: string): BatchOp => ({ type: 'del', key });
// a queue record's put carries its value's byte length, for the journal's frame
const record = (seq: number, value: string): BatchOp => {
  const e = entry(seq, value);
  return { type: 'put', key: e.key, value, bytes: e.bytes };
};
const entry = (seq: number, value: string) => ({
  key: queueKey(seq, AT, Buffer.byteLength(value)),
  value,
  bytes: Buffer.byteLength(value),
  seq,
  at: AT,
});

const cases: Case[] = [
  {
    name: 'appends alone: one record each in call order, no meta key, landed when the first record is there',
    ops: [append(['"a"', '"bb"']), append(['"ccc"'], [], false)],
    batch: [record(20, '"a"'), record(21, '"bb"'), record(22, '"ccc"')],
    effects: { appended: [entry(20, '"a"'), entry(21, '"bb"'), entry(22, '"ccc"')], lastSeq: 22 },
    results: [2, 1],
    landedKey: entry(20, '"a"').key,
  },
  {
    name: 'state travels in the batch of the records it covers, after them',
    ops: [
      append(
        ['"a"'],
        [
          { type: 'put', key: 'cursor', value: 'c1' },
          { type: 'del', key: 'old' },
        ],
      ),
    ],
    batch: [record(20, '"a"'), put(stateKey('cursor'), 'c1'), del(stateKey('old'))],
    effects: { appended: [entry(20, '"a"')], lastSeq: 20 },
    results: [1],
    landedKey: entry(20, '"a"').key,
  },
  {
    name: 'state alone and a sync write the meta key with the highest sequence handed out so far',
    ops: [state([{ type: 'put', key: 'cursor', value: 'c2' }]), sync()],
    batch: [put(stateKey('cursor'), 'c2'), meta(SEQ - 1)],
    effects: { lastSeq: SEQ - 1 },
    results: [0, 0],
  },
  {
    name: 'acks: a record in flight by its known size, one not taken here by its key, one gone skipped, twice once',
    ops: [ack([q1, q2]), ack([q3, q1])],
    found: [[q2.key, q2.value]],
    batch: [del(q1.key), del(q2.key), meta(SEQ - 1)],
    effects: {
      removed: [
        { key: q1.key, bytes: 5 },
        { key: q2.key, bytes: 5 },
      ],
    },
    results: [2, 0],
  },
  {
    name: 'dead letters: the record moves under a key of the time and its sequence, with the stored value',
    ops: [dead([q1, q2], 'HTTP 400', 400)],
    found: [[q2.key, '"two, as stored"']],
    batch: [
      del(q1.key),
      put(deadKey(AT, 1), JSON.stringify({ reason: 'HTTP 400', status: 400, at: AT, value: '"one"' })),
      del(q2.key),
      put(deadKey(AT, 2), JSON.stringify({ reason: 'HTTP 400', status: 400, at: AT, value: '"two, as stored"' })),
      meta(SEQ - 1),
    ],
    effects: {
      removed: [
        { key: q1.key, bytes: 5 },
        { key: q2.key, bytes: 5 },
      ],
      deadDelta: 2,
    },
    results: [2],
  },
  {
    name: 'replay: a readable dead letter becomes a new record; unreadable ones stay and are named; missing skipped',
    ops: [replay([d1, d2, d3, q2.key])],
    found: [
      [d1, letter('"again"')],
      [d2, 'not json'],
      [q2.key, letter('"x"')],
    ],
    batch: [del(d1), record(20, '"again"'), meta(20)],
    effects: { appended: [entry(20, '"again"')], deadDelta: -1, lastSeq: 20 },
    results: [1],
    unreadable: [d2],
  },
  {
    name: 'purge: deletes the dead letters there are, once',
    ops: [purge([d1, d2]), purge([d1, d3])],
    found: [
      [d1, letter('"a"')],
      [d2, letter('"b"')],
    ],
    batch: [del(d1), del(d2), meta(SEQ - 1)],
    effects: { deadDelta: -2 },
    results: [2, 0],
  },
  {
    name: 'appends beside an ack: one batch, and the meta key carries the sequences of the appends',
    ops: [append(['"a"']), ack([q1]), append(['"b"'])],
    batch: [record(20, '"a"'), del(q1.key), record(21, '"b"'), meta(21)],
    effects: { appended: [entry(20, '"a"'), entry(21, '"b"')], removed: [{ key: q1.key, bytes: 5 }], lastSeq: 21 },
    results: [1, 1, 1],
  },
];

test('planBatch: what one group commit writes and changes in memory', () => {
  for (const c of cases) {
    const built = planBatch(c.ops, new Map(c.found ?? []), IN_FLIGHT, AT, SEQ, NO);
    assert.equal(built.no, NO, c.name);
    assert.deepEqual(built.batch, c.batch, c.name);
    assert.deepEqual(
      built.effects,
      { appended: [], removed: [], deadDelta: 0, lastSeq: SEQ - 1, ...c.effects },
      c.name,
    );
    assert.deepEqual(built.results, c.results, c.name);
    assert.equal(built.landedKey, c.landedKey, c.name);
    assert.deepEqual(built.unreadable, c.unreadable, c.name);
  }
});
