// where the package's own files are (proto/, fixtures/, package.json), whether this code runs from src/ under
// tsx or from dist/src/ after the build, installed anywhere
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findRoot(): string {
  let dir = import.meta.dirname;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'proto'))) return dir;
    const up = dirname(dir);
    if (up === dir)
      throw new Error(`cannot find the package root (package.json beside proto/) above ${import.meta.dirname}`);
    dir = up;
  }
}

export const packageRoot = findRoot();
export const protoDir = join(packageRoot, 'proto');
export const fixturesDir = join(packageRoot, 'fixtures');

/** the version in our package.json */
export function packageVersion(): string {
  try {
    return (
      (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown'
    );
  } catch {
    return 'unknown';
  }
}
