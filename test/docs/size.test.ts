// issue 13's bound on unit size: no file in src/ (outside the fakes) over 500 lines, no function or class over
// 250. a unit past that holds several jobs; split it along its seams rather than raise the bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { repoRoot } from '../helpers/paths.js';

const MAX_FILE_LINES = 500;
const MAX_UNIT_LINES = 250;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** functions, methods, arrow functions and classes longer than max lines, as `file:line name (n lines)` */
export function longUnits(file: string, text: string, max: number): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) || ts.isClassLike(node)) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > max) {
        const named = (node as { name?: ts.Node }).name;
        const name = named ? named.getText(sf) : '(anonymous)';
        found.push(`${file}:${start + 1} ${name} (${lines} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

test('no file in src/ outside src/fakes is over 500 lines', () => {
  const src = join(repoRoot, 'src');
  const long = sources(src)
    .filter((f) => !relative(src, f).startsWith('fakes'))
    .map((f) => ({ f: relative(repoRoot, f), n: readFileSync(f, 'utf8').split('\n').length }))
    .filter(({ n }) => n > MAX_FILE_LINES)
    .map(({ f, n }) => `${f} (${n} lines)`);
  assert.deepEqual(long, [], 'split these along their seams');
});

test('no function or class in src/ outside src/fakes is over 250 lines', () => {
  const src = join(repoRoot, 'src');
  const long = sources(src)
    .filter((f) => !relative(src, f).startsWith('fakes'))
    .flatMap((f) => longUnits(relative(repoRoot, f), readFileSync(f, 'utf8'), MAX_UNIT_LINES));
  assert.deepEqual(long, [], 'split these along their seams');
});

test('the unit check measures what it names', () => {
  const body = Array.from({ length: 260 }, (_, i) => `  const v${i} = ${i};`).join('\n');
  const text = `export function big() {\n${body}\n}\nexport class Small { m() { return 1; } }\n`;
  assert.deepEqual(longUnits('x.ts', text, MAX_UNIT_LINES), ['x.ts:1 big (262 lines)']);
  assert.deepEqual(longUnits('x.ts', text, 300), []);
});
