// paths for tests, whether they run from test/ (tsx) or from dist/test/ (compiled by `npm test`)
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('/dist')) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${start}`);
    dir = up;
  }
  return dir;
}

export const repoRoot = findRoot(import.meta.dirname);
export const fixturesDir = join(repoRoot, 'fixtures');
export const fixture = (...parts: string[]) => join(fixturesDir, ...parts);
/** true when running compiled javascript from dist/ */
export const compiled = import.meta.filename.endsWith('.js');
/** the command that runs the cli as a user would: the compiled bin, or the source through tsx */
export const cliCommand: string[] = compiled
  ? [process.execPath, join(repoRoot, 'dist/src/cli/main.js')]
  : [process.execPath, '--import', 'tsx', join(repoRoot, 'src/cli/main.ts')];
