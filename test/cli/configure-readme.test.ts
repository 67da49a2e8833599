// README's poller steps must say what `configure` says: the same tctl command, and forwarder.toml (not the
// sample teleport-event-handler.toml written beside it) as the config to start with
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConfigure } from '../../src/cli/configure.js';
import { repoRoot } from '../helpers/paths.js';

function pollerSection(): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('### 2. All in one: the built-in poller');
  assert.ok(start >= 0, 'README has the poller section');
  const end = readme.indexOf('\n### ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

test("README's poller steps run configure's tctl auth sign and start forwarder.toml", async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tdf-readme-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const dir = join(base, 'forwarder');
  let out = '';
  await runConfigure({
    dir,
    teleportAddr: 'teleport.example.com:443',
    bits: 1024,
    out: { write: (s: string) => (out += s) },
  });
  const sign = out
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith('tctl auth sign'));
  assert.ok(sign, 'configure prints a tctl auth sign step');
  const section = pollerSection();
  // the same command, with README's ./forwarder for the directory
  assert.ok(
    section.includes(sign.replaceAll(dir, './forwarder')),
    `README has "${sign.replaceAll(dir, './forwarder')}"`,
  );
  const commands = section.split('\n').filter((l) => l.includes('teleport-datadog-forwarder start --config'));
  assert.ok(commands.length > 0, 'a start command');
  for (const c of commands) assert.match(c, /start --config \S*forwarder\.toml/, c);
  assert.match(section, /start-time/);
  assert.match(section, /DD_SITE/);
});
