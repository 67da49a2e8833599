// rfc3339ToMs reads timestamps by hand (no regex, a day memo): it must give what the regex reading it replaced
// gave, kept here as the specification, for the timestamps teleport sends and for every malformed variant of them
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rfc3339ToMs } from '../../../src/sources/http/time.js';

const MAX_MS = 253402300799999;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:?\d{2})?$/;

function reference(text: string): number | null {
  const m = RFC3339.exec(text);
  if (m === null) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  let ms = Date.UTC(Number(y), month - 1, day, hour, minute, second);
  if (new Date(ms).getUTCDate() !== day && second !== 60) return null;
  if (frac !== undefined) ms += Number(frac.slice(0, 3).padEnd(3, '0'));
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offH = Number(digits.slice(0, 2));
    const offM = Number(digits.slice(2, 4));
    if (offH > 23 || offM > 59) return null;
    ms -= sign * (offH * 60 + offM) * 60_000;
  }
  return Number.isFinite(ms) && ms > 0 && ms <= MAX_MS ? ms : null;
}

const cases: Array<[string, number | null]> = [
  ['2024-05-01T10:00:01.123Z', 1714557601123],
  ['2024-05-01T10:00:01.123456789Z', 1714557601123],
  ['2024-05-01T10:00:01.1z', 1714557601100],
  ['2024-05-01 10:00:01', 1714557601000],
  ['2024-05-01t10:00:01', 1714557601000],
  ['2024-05-01T12:30:01+02:30', 1714557601000],
  ['2024-05-01T08:00:01-0200', 1714557601000],
  ['2024-02-29T00:00:00Z', 1709164800000],
  ['2023-02-29T00:00:00Z', null], // not a leap year: no rolling over to march
  ['2024-02-31T00:00:60Z', Date.UTC(2024, 1, 31, 0, 1, 0)], // a leap second skips the check, as it did
  ['2024-12-31T23:59:60Z', Date.UTC(2025, 0, 1)],
  ['0050-03-01T00:00:00Z', null], // Date.UTC reads years 0-99 as 1900-1999: before 1970
  ['1970-01-01T00:00:00.001Z', 1],
  ['9999-12-31T23:59:59.999Z', MAX_MS],
  ['1970-01-01T00:00:00Z', null], // 0 is "now" to fluentd
  ['2024-05-01T10:00:01+24:00', null],
  ['2024-05-01T10:00:01+01:60', null],
  ['2024-05-01T24:00:00Z', null],
  ['2024-05-01T10:60:00Z', null],
  ['2024-05-01T10:00:61Z', null],
  ['2024-00-01T10:00:00Z', null],
  ['2024-05-00T10:00:00Z', null],
  ['2024-05-32T10:00:00Z', null],
  ['2024-05-01T10:00:01.Z', null],
  ['2024-05-01T10:00:01+01', null],
  ['2024-05-01T10:00:01+01:0', null],
  ['2024-05-01T10:00:01+01::00', null],
  ['2024-05-01T10:00:01ZZ', null],
  ['2024-05-01T10:00:01Z ', null],
  ['2024-05-01T10:00:01\n', null],
  [' 2024-05-01T10:00:01Z', null],
  ['2024-5-01T10:00:01Z', null],
  ['2024-05-01X10:00:01Z', null],
  ['2024/05/01T10:00:01Z', null],
  ['2024-05-01T10-00-01Z', null],
  ['２０２４-05-01T10:00:01Z', null], // full-width digits are not \d
  ['2024-05-01T10:00:01.１Z', null],
  ['2024-05-01', null],
  ['', null],
];

test('rfc3339ToMs: table', () => {
  for (const [text, want] of cases) {
    assert.equal(rfc3339ToMs(text), want, JSON.stringify(text));
    assert.equal(reference(text), want, `the reference agrees on ${JSON.stringify(text)}`);
  }
});

test('rfc3339ToMs: the same as the regex reading on mutated timestamps, in and out of day order', () => {
  const seeds = [
    '2024-05-01T10:00:01.123Z',
    '2024-02-29T23:59:60.5+05:30',
    '1999-12-31 23:59:59-0800',
    '0099-01-31T00:00:00z',
    '2023-02-28T12:00:00.000001',
  ];
  const alphabet = '0123456789-:.TtZz+ X';
  // a deterministic generator: the run is the same every time
  let seed = 12345;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  let checked = 0;
  for (let round = 0; round < 20_000; round++) {
    let text = seeds[next(seeds.length)]!;
    for (let edits = 1 + next(3); edits > 0; edits--) {
      const at = next(text.length + 1);
      const op = next(3);
      const ch = alphabet[next(alphabet.length)]!;
      if (op === 0) text = text.slice(0, at) + ch + text.slice(at + 1);
      else if (op === 1) text = text.slice(0, at) + ch + text.slice(at);
      else text = text.slice(0, at) + text.slice(at + 1);
    }
    assert.equal(rfc3339ToMs(text), reference(text), JSON.stringify(text));
    checked++;
  }
  assert.equal(checked, 20_000);
});
