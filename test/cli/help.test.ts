// the command tree through the real cli: --help of the commands with no setting flags, byte for byte as the
// fixtures (written by main() before each command's builder got its own function in commands.ts)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../helpers/paths.js';
import { runCli } from '../helpers/cli.js';

const cases: Array<[string, string[]]> = [
  ['top', ['--help']],
  ['demo', ['demo', '--help']],
  ['configure', ['configure', '--help']],
  ['migrate', ['migrate', '--help']],
];

for (const [name, args] of cases) {
  test(`--help of ${name} is unchanged`, async () => {
    const r = await runCli(args);
    assert.equal(r.code, 0);
    assert.equal(r.out, readFileSync(fixture('cli', 'help', `${name}.txt`), 'utf8'));
  });
}
