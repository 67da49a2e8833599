// the shipped entry points start node as src/runtime.ts LAUNCH says (a young generation of 2 x 4 MiB, two malloc
// arenas): the image's ENV and the systemd unit's Environment= carry exactly its variables, and node, started
// with them, really keeps its new space at that size while allocating fast.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { LAUNCH } from '../../src/runtime.js';
import { imageEnv, launchEnv, parseUnit, readRepoFile, unitEnvironment } from './assets.js';

const unitEnv = (): Record<string, string> =>
  Object.fromEntries(unitEnvironment(parseUnit(readRepoFile('deploy/systemd/teleport-datadog-forwarder.service'))));

/** MiB of v8's new space after a burst of short-lived allocations, in a node started with env */
function newSpaceMiB(env: Record<string, string>): number {
  const script = `
    let keep = [];
    for (let i = 0; i < 3e6; i++) { keep.push({ a: i, b: 'x' + i }); if (keep.length > 20000) keep = []; }
    const s = require('node:v8').getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
    process.stdout.write(String(s.space_size / 1048576));`;
  return Number(execFileSync(process.execPath, ['-e', script], { env: { PATH: process.env.PATH ?? '', ...env } }));
}

for (const [name, read] of [
  ['the image (Dockerfile ENV)', () => imageEnv()],
  ['the systemd unit (Environment=)', unitEnv],
] as const) {
  test(`${name} starts node as LAUNCH says`, () => {
    const env = read();
    for (const [k, v] of Object.entries(launchEnv())) assert.equal(env[k], v, `${k} in ${name}`);
  });
}

test("LAUNCH's young generation takes effect: node keeps its new space at 2 x the semi-space", () => {
  assert.equal(newSpaceMiB(launchEnv()), 2 * LAUNCH.semiSpaceMiB);
  // and without it v8 grows it past that: the check above can tell the two apart
  assert.ok(newSpaceMiB({}) > 2 * LAUNCH.semiSpaceMiB);
});
