// the sessions' table of recordings (pure): upload claims, and what counts as idle for exit-on-last-event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DecodedEvent } from '../../../src/sources/teleport/events.js';
import { Recordings } from '../../../src/sources/teleport/recordings.js';
import { K } from '../../../src/sources/teleport/state.js';

const upload = (sid: string, time = 1000): DecodedEvent => ({
  type: 'session.upload',
  id: `u-${sid}-${time}`,
  index: 0,
  time,
  record: { event: 'session.upload', sid },
});
const other: DecodedEvent = { type: 'user.login', id: 'l', index: 0, time: 5, record: { event: 'user.login' } };

test('claims: an upload is claimed once, registered when its batch is durable, claimable again when it failed', () => {
  type Step = { op: 'ops'; events: DecodedEvent[]; claimed: string[] } | { op: 'register' | 'release'; sids: string[] };
  const cases: Array<{ name: string; steps: Step[]; known: string[] }> = [
    {
      name: 'claimed, then durable',
      steps: [
        { op: 'ops', events: [upload('a'), other], claimed: ['a'] },
        { op: 'register', sids: ['a'] },
      ],
      known: ['a'],
    },
    {
      name: 'a concurrent batch does not claim it twice',
      steps: [
        { op: 'ops', events: [upload('a')], claimed: ['a'] },
        { op: 'ops', events: [upload('a', 2000)], claimed: [] },
      ],
      known: [],
    },
    {
      name: 'released, claimed again',
      steps: [
        { op: 'ops', events: [upload('a')], claimed: ['a'] },
        { op: 'release', sids: ['a'] },
        { op: 'ops', events: [upload('a')], claimed: ['a'] },
        { op: 'register', sids: ['a'] },
      ],
      known: ['a'],
    },
    {
      name: 'a known recording is not claimed again',
      steps: [
        { op: 'ops', events: [upload('a')], claimed: ['a'] },
        { op: 'register', sids: ['a'] },
        { op: 'ops', events: [upload('a')], claimed: [] },
      ],
      known: ['a'],
    },
    {
      name: 'registering what was not claimed does nothing',
      steps: [{ op: 'register', sids: ['b'] }],
      known: [],
    },
  ];
  for (const c of cases) {
    const t = new Recordings(1000, 60_000);
    for (const s of c.steps) {
      if (s.op === 'ops') {
        const { ops, claimed } = t.opsFor(s.events);
        assert.deepEqual(claimed, s.claimed, c.name);
        assert.deepEqual(
          ops.map((o) => o.key),
          s.claimed.map((sid) => K.session(sid)),
          `${c.name}: one session put per claim`,
        );
      } else if (s.op === 'register') t.registerFrom(s.sids);
      else t.release(s.sids);
    }
    assert.deepEqual([...t.entries.keys()], c.known, c.name);
  }
});

test('the session put carries index 0 and the upload time', () => {
  const t = new Recordings(1000, 60_000);
  const { ops } = t.opsFor([upload('a', 1234)]);
  assert.deepEqual(ops, [{ type: 'put', key: K.session('a'), value: JSON.stringify({ i: 0, t: 1234 }) }]);
  t.registerFrom(['a']);
  assert.deepEqual(t.entries.get('a')!.state, { i: 0, t: 1234 });
});

test('idle: nothing streaming and nothing left but parked recordings; left behind lists those not streaming', () => {
  const t = new Recordings(1000, 60_000);
  assert.equal(t.isIdle(), true, 'empty');
  const a = t.entry({ i: 3, t: 1 });
  const b = t.entry({ i: 0, t: 2 });
  t.add('a', a);
  t.add('b', b);
  assert.equal(t.isIdle(), false, 'two to stream');
  t.setParked(a, true);
  t.setParked(a, true); // twice is once
  assert.equal(t.isIdle(), false, 'one still to stream');
  t.setParked(b, true);
  assert.equal(t.isIdle(), true, 'both parked');
  t.running = 1;
  b.running = true;
  assert.equal(t.isIdle(), false, 'one streaming');
  t.running = 0;
  b.running = false;
  t.setParked(b, false);
  t.remove('b');
  assert.equal(t.isIdle(), true, 'the parked one left');
  a.failures = 3;
  a.lastError = 'PERMISSION_DENIED';
  assert.deepEqual(t.leftBehind(), [{ sid: 'a', index: 3, attempts: 3, err: 'PERMISSION_DENIED', problem: undefined }]);
  t.remove('a');
  assert.equal(t.isIdle(), true);
  assert.deepEqual(t.leftBehind(), []);
});
