// README's layout block names every folder and top-level module under src/, and nothing that is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';

function layoutBlock(): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('Layout (');
  assert.ok(start >= 0, 'README has a layout section');
  const open = readme.indexOf('```\n', start);
  const close = readme.indexOf('```', open + 4);
  return readme.slice(open + 4, close);
}

/** the paths the block names: `name/` or `name.ts` at the start of a line, or in a comma-separated list */
function named(block: string): { src: string[]; top: string[] } {
  const src: string[] = [];
  const top: string[] = [];
  let inSrc = false;
  for (const line of block.split('\n')) {
    if (/^src\/$/.test(line.trim())) {
      inSrc = true;
      continue;
    }
    const lead = /^(\s*)(\S.*?)(\s{2,}|$)/.exec(line);
    if (!lead || lead[2]!.startsWith('helpers/')) continue;
    if (lead[1]!.length === 0) inSrc = false;
    const names = lead[2]!.split(/,\s*/).filter((n) => /^[\w./-]+$/.test(n));
    (inSrc ? src : top).push(...names);
  }
  return { src, top };
}

/** src's folders (and sources/x, sinks/x) and its top-level .ts files */
function srcTree(): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(repoRoot, 'src'))) {
    const full = join(repoRoot, 'src', name);
    if (!statSync(full).isDirectory()) {
      if (name.endsWith('.ts') && !['paths.ts', 'record.ts', 'runtime.ts'].includes(name)) out.push(name);
      continue;
    }
    if (name === 'sources' || name === 'sinks') for (const sub of readdirSync(full)) out.push(`${name}/${sub}/`);
    else out.push(`${name}/`);
  }
  return out.sort();
}

test("README's layout names every folder of src/ and what it names exists", () => {
  const { src, top } = named(layoutBlock());
  assert.deepEqual(
    srcTree().filter((p) => !src.includes(p)),
    [],
    'folders and modules of src/ missing from the layout',
  );
  for (const p of src) assert.ok(existsSync(join(repoRoot, 'src', p)), `src/${p} is in the layout but not in the tree`);
  for (const p of top) assert.ok(existsSync(join(repoRoot, p)), `${p} is in the layout but not in the tree`);
  assert.ok(top.includes('test/') && top.includes('deploy/'), 'the top-level folders were read');
});

// suites that cross components: end to end, faults, hostile input, deployment assets, docs, shared helpers
const SUITES = ['e2e', 'faults', 'hostile', 'deploy', 'docs', 'helpers'];

/** folders under dir, as paths relative to it, recursively */
function folders(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => [prefix + e.name, ...folders(dir, prefix + e.name + '/')]);
}

test('test/ mirrors src/: each folder of component tests has its folder in src/', () => {
  const test = join(repoRoot, 'test');
  const strays = folders(test).filter(
    (f) => !SUITES.includes(f.split('/')[0]!) && !existsSync(join(repoRoot, 'src', f)),
  );
  assert.deepEqual(strays, [], 'move these tests beside the folder of src/ they test, or name the suite here');
});
