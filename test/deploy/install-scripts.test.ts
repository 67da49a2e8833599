// npm 11 asks a project to review its dependencies' install scripts (package.json allowScripts); an unreviewed
// one makes `npm ci` warn. the lockfile says which packages have install scripts, so a new one fails here first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readRepoFile, repoRoot } from './assets.js';

const run = promisify(execFile);
const pkg = JSON.parse(readRepoFile('package.json')) as { allowScripts?: Record<string, boolean> };
const lock = JSON.parse(readRepoFile('package-lock.json')) as {
  packages: Record<string, { hasInstallScript?: boolean }>;
};

const withScripts = (): string[] =>
  Object.entries(lock.packages)
    .filter(([path, entry]) => path !== '' && entry.hasInstallScript === true)
    .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));

test('every locked package with an install script has a reviewed allowScripts entry', () => {
  const names = withScripts();
  assert.ok(names.length > 0, 'the lockfile marks install scripts (hasInstallScript)');
  const allowed = pkg.allowScripts ?? {};
  for (const name of names) assert.equal(typeof allowed[name], 'boolean', `allowScripts has ${name}: true or false`);
  // the leveldb binding builds from source where no prebuild fits, so its script must stay allowed
  assert.equal(allowed['classic-level'], true);
});

test('allowScripts names only packages that are locked and have install scripts', () => {
  const names = new Set(withScripts());
  for (const name of Object.keys(pkg.allowScripts ?? {})) assert.ok(names.has(name), `${name} still has an install script`);
});

test('npm itself finds no unreviewed install script in the installed tree', async (t) => {
  const { stdout } = await run('npm', ['install-scripts', 'ls', '--json'], { cwd: repoRoot }).catch((err: unknown) => {
    // an npm without the command (before 11.x) has no policy to satisfy
    return { stdout: '', err };
  });
  if (stdout === '') return t.skip('this npm has no install-scripts command');
  const listed = JSON.parse(stdout) as { allowScripts: unknown[] };
  assert.deepEqual(listed.allowScripts, []);
});

test('the ci probe of the leveldb binding loads it and leaves nothing in the temp dir', async () => {
  const ci = readRepoFile('.ci', 'run');
  const probe = /^node -e "\n[\s\S]*?\n"$/m.exec(ci.slice(ci.indexOf('tdf-ci-probe-') - 400));
  assert.ok(probe, '.ci/run has a multi-line node -e probe');
  const tmp = mkdtempSync(join(tmpdir(), 'tdf-probe-test-'));
  try {
    const { stdout } = await run('bash', ['-c', probe[0]], { cwd: repoRoot, env: { ...process.env, TMPDIR: tmp } });
    assert.match(stdout, /classic-level binding loads/);
    assert.deepEqual(readdirSync(tmp), []);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
