import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { applyHeapGrowingPercent, HEAP_GROWING_PERCENT_DEFAULT, primeHeapGrowingPercent } from '../src/runtime.js';
import { sectionDefaults } from '../src/config/sections.js';
import { repoRoot } from './helpers/paths.js';

test('heap growing percent: applied unless node was started with the flag', () => {
  assert.equal(applyHeapGrowingPercent(50, { execArgv: [], nodeOptions: undefined }), 50);
  assert.equal(applyHeapGrowingPercent(0, { execArgv: ['--import', 'tsx'], nodeOptions: '--enable-source-maps' }), 0);
  assert.equal(applyHeapGrowingPercent(50, { execArgv: ['--heap-growing-percent=20'], nodeOptions: undefined }), null);
  assert.equal(
    applyHeapGrowingPercent(50, { execArgv: [], nodeOptions: '--max-old-space-size=512 --heap_growing_percent=30' }),
    null,
  );
});

test("the cli sets the schema's heap growing percent before any other module loads", () => {
  assert.equal(sectionDefaults('runtime').heapGrowingPercent, HEAP_GROWING_PERCENT_DEFAULT);
  assert.equal(primeHeapGrowingPercent({ execArgv: [], nodeOptions: undefined }), HEAP_GROWING_PERCENT_DEFAULT);
  assert.equal(primeHeapGrowingPercent({ execArgv: [], nodeOptions: '--heap-growing-percent=20' }), null);
  // v8 ignores a percent set later unless one was set this early (runtime.ts): prime.js is the entry's first import
  const entry = join(repoRoot, 'src', 'cli', 'main.ts');
  const source = ts.createSourceFile('main.ts', readFileSync(entry, 'utf8'), ts.ScriptTarget.Latest);
  const first = source.statements.find(ts.isImportDeclaration);
  assert.equal((first?.moduleSpecifier as ts.StringLiteral | undefined)?.text, './prime.js');
  const prime = readFileSync(join(repoRoot, 'src', 'cli', 'prime.ts'), 'utf8');
  assert.match(prime, /^primeHeapGrowingPercent\(\);$/m);
});
