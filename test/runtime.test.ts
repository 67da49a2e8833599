import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyHeapGrowingPercent } from '../src/runtime.js';

test('heap growing percent: applied unless node was started with the flag', () => {
  assert.equal(applyHeapGrowingPercent(50, { execArgv: [], nodeOptions: undefined }), 50);
  assert.equal(applyHeapGrowingPercent(0, { execArgv: ['--import', 'tsx'], nodeOptions: '--enable-source-maps' }), 0);
  assert.equal(applyHeapGrowingPercent(50, { execArgv: ['--heap-growing-percent=20'], nodeOptions: undefined }), null);
  assert.equal(
    applyHeapGrowingPercent(50, { execArgv: [], nodeOptions: '--max-old-space-size=512 --heap_growing_percent=30' }),
    null,
  );
});
