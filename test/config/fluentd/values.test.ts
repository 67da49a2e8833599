import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fluentBool, fluentInt, fluentSize } from '../../../src/config/fluentd/values.js';

test('fluentd value types', () => {
  assert.equal(fluentBool('true'), true);
  assert.equal(fluentBool('yes'), true);
  assert.equal(fluentBool(''), true);
  assert.equal(fluentBool('no'), false);
  assert.equal(fluentBool('maybe'), undefined);
  assert.equal(fluentSize('32m'), 32 * 1024 * 1024);
  assert.equal(fluentSize('1G'), 1024 ** 3);
  assert.equal(fluentSize('512k'), 512 * 1024);
  assert.equal(fluentSize('2048'), 2048);
  assert.equal(fluentSize('lots'), undefined);
  assert.equal(fluentInt(' 8888 '), 8888);
  assert.equal(fluentInt('88.8'), undefined);
});
