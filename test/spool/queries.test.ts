// a stored dead letter as `spool dead ls` and replay see it: what parses keeps its fields, what does not is still
// listed, with its raw text as the value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDeadLetter } from '../../src/spool/queries.js';

test('parseDeadLetter: fields of a stored letter, defaults for missing ones, the raw text of an unreadable one', () => {
  const key = 'd!018bcfe56800!0000000000000007';
  const table: Array<[string, string, object]> = [
    [
      'a letter as the spool writes it',
      JSON.stringify({ reason: 'HTTP 400 Bad Request', status: 400, at: 1_700_000_000_000, value: '{"m":1}' }),
      { key, reason: 'HTTP 400 Bad Request', status: 400, at: 1_700_000_000_000, value: '{"m":1}' },
    ],
    [
      'our own reason has no status',
      JSON.stringify({ reason: 'too large', status: null, at: 5, value: 'v' }),
      { key, reason: 'too large', status: null, at: 5, value: 'v' },
    ],
    ['missing fields', '{}', { key, reason: '', status: null, at: 0, value: '' }],
    [
      'fields of the wrong type',
      JSON.stringify({ reason: 7, status: '400', at: '9', value: 3 }),
      { key, reason: '7', status: null, at: 9, value: '3' },
    ],
    ['not json', 'garbage {', { key, reason: 'unreadable dead letter', status: null, at: 0, value: 'garbage {' }],
  ];
  for (const [name, text, expected] of table) assert.deepEqual(parseDeadLetter(key, text), expected, name);
});
