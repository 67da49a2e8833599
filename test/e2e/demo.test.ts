// the quick start's main job, run as a user runs it
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliCommand } from '../helpers/paths.js';

test('demo: fake Teleport and local intake on embedded defaults, every event delivered once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-demo-test-'));
  try {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    const r = spawnSync(
      cliCommand[0]!,
      [...cliCommand.slice(1), 'demo', '--dir', dir, '--days', '2', '--events-per-day', '150', '--posts', '40'],
      { env, encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const m = /done: all (\d+) events reached the local intake, each once/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.ok(Number(m[1]) >= 300 + 40, 'two days of audit events plus the posted ones');
    const received = readFileSync(join(dir, 'intake-received.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    assert.equal(received.length, Number(m[1]));
    // session.start/end appear in the audit log and in the recording (as in teleport), under different tags
    const keys = received.filter((l) => l.uid).map((l) => `${l.tag ?? 'audit'}/${l.uid}`);
    assert.equal(new Set(keys).size, keys.length, 'no duplicates');
    assert.ok(
      received.some((l) => l.tag?.startsWith('session.')),
      'session recordings tagged session.<sid>.log',
    );
    assert.ok(
      received.some((l) => l.uid?.startsWith('demo-handler-')),
      'events posted to the ingest',
    );
    assert.equal(statSync(join(dir, 'server.key')).mode & 0o777, 0o600);

    // the banner and the poller's log count the same days back; no advice about a handler the demo never ran
    const banner = /audit events since \S+, (\d+) days? back/.exec(r.stdout);
    assert.ok(banner, r.stdout);
    const log = readFileSync(join(dir, 'forwarder.log'), 'utf8');
    const first = /the first export starts (\d+) days? back/.exec(log);
    assert.ok(first, 'the poller logs how far back its first export starts');
    assert.equal(first[1], banner[1]);
    assert.doesNotMatch(log, /teleport-event-handler's cursors/);
    assert.equal(statSync(join(dir, 'identity')).mode & 0o777, 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
