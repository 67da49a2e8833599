import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configurationMarkdown } from '../../src/config/docs.js';
import { SETTINGS, envName } from '../../src/config/schema.js';
import { repoRoot } from '../helpers/paths.js';

test('docs/configuration.md is generated from the schema and up to date (npm run docs)', () => {
  const onDisk = readFileSync(join(repoRoot, 'docs', 'configuration.md'), 'utf8');
  assert.equal(onDisk, configurationMarkdown());
  for (const s of SETTINGS) assert.ok(onDisk.includes(envName(s.key)), s.key);
});
