import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { readersOn, set, type Labels, type Reading } from '../../src/telemetry/metric-readings.js';

test('set: what a reading puts, and whether it put anything', () => {
  const table: Array<[string, Reading | null, Array<[Labels, number]>, boolean]> = [
    ['a number', 3, [[{}, 3]], true],
    ['zero', 0, [[{}, 0]], true],
    ['no reading', undefined, [], false],
    ['null', null, [], false],
    ['NaN', NaN, [], false],
    ['infinity', Infinity, [], false],
    [
      'labelled values, the non-finite ones left out',
      [
        [{ a: 'x' }, 1],
        [{ a: 'y' }, NaN],
        [{ a: 'z' }, 2],
      ],
      [
        [{ a: 'x' }, 1],
        [{ a: 'z' }, 2],
      ],
      true,
    ],
    ['no label sets', [], [], true],
  ];
  for (const [name, reading, want, wantPut] of table) {
    const got: Array<[Labels, number]> = [];
    assert.equal(
      set(reading as Reading, (l, v) => got.push([l, v])),
      wantPut,
      name,
    );
    assert.deepEqual(got, want, name);
  }
});

test('readersOn: series read at scrape time; no reading, no series; a counter never goes below 0', async () => {
  const table: Array<[string, Reading, string[]]> = [
    ['a value', 5, ['x_total 5', 'x_gauge 5']],
    ['no reading', undefined, []],
    ['a negative value', -2, ['x_total 0', 'x_gauge -2']],
    [
      'labelled',
      [
        [{ k: 'a' }, 1],
        [{ k: 'b' }, 2],
      ],
      ['x_total{k="a"} 1', 'x_total{k="b"} 2', 'x_gauge{k="a"} 1', 'x_gauge{k="b"} 2'],
    ],
  ];
  for (const [name, reading, want] of table) {
    const registry = new Registry();
    const { counterFrom, gaugeFrom } = readersOn(registry);
    const labels = Array.isArray(reading) ? ['k'] : [];
    let current: Reading = undefined;
    counterFrom('x_total', 'a counter', labels, () => current);
    gaugeFrom('x_gauge', 'a gauge', labels, () => current);
    current = reading;
    const lines = (await registry.metrics()).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.deepEqual(lines, want, name);
  }
});
