// docs/errors.md and src/errors.ts stay in sync, as fastify keeps its FST_ERR_* codes and their docs: every code
// thrown is described, every described code exists, and each row names the classes that carry it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as errors from '../../src/errors.js';
import { repoRoot } from '../helpers/paths.js';

/** code -> the classes that carry it, from the error registry's own source */
function registry(): Map<string, Set<string>> {
  const text = readFileSync(join(repoRoot, 'src/errors.ts'), 'utf8');
  const out = new Map<string, Set<string>>();
  const parents = new Map<string, string>();
  const own = new Set<string>();
  for (const m of text.matchAll(/export class (\w+) extends (\w+) \{([\s\S]*?)\n\}/g)) {
    const [, name, parent, body] = m;
    parents.set(name!, parent!);
    for (const c of body!.matchAll(/'(TDF_[A-Z_]+)'/g)) {
      own.add(name!);
      if (!out.has(c[1]!)) out.set(c[1]!, new Set());
      out.get(c[1]!)!.add(name!);
    }
  }
  // a subclass that passes no code of its own carries its parent's
  for (const [name, parent] of parents) {
    if (own.has(name)) continue;
    for (const holders of out.values()) if (holders.has(parent)) holders.add(name);
  }
  return out;
}

function documented(): Map<string, string> {
  const doc = readFileSync(join(repoRoot, 'docs/errors.md'), 'utf8');
  const rows = new Map<string, string>();
  for (const line of doc.split('\n')) {
    const m = /^\| `(TDF_[A-Z_]+)` \| ([^|]+) \|/.exec(line);
    if (m) rows.set(m[1]!, m[2]!);
  }
  return rows;
}

test('every error code in src/errors.ts has a row in docs/errors.md, and no row names a code that is gone', () => {
  const codes = registry();
  const rows = documented();
  assert.ok(codes.size >= 10, `the registry was read (${codes.size} codes)`);
  assert.deepEqual([...rows.keys()].sort(), [...codes.keys()].sort());
});

test("each row names the classes that carry its code, and each class's code is the one thrown", () => {
  const rows = documented();
  for (const [code, holders] of registry()) {
    const named = rows.get(code) ?? '';
    for (const cls of holders) assert.ok(named.includes(`\`${cls}\``), `${code}: docs/errors.md names ${cls}`);
  }
  // the classes themselves, constructed: the code they carry is documented
  const made = [
    new errors.ConfigError('x'),
    new errors.FluentConfigError('f', 1, 'x'),
    new errors.SpoolFullError(),
    new errors.SpoolClosedError(),
    new errors.DecodeError('x'),
    new errors.StorageError('x'),
    new errors.TlsFileError('x'),
    new errors.IntakeNetworkError('x'),
    new errors.IntakeNetworkError('x', { timeout: true }),
    new errors.SetupError('x'),
    new errors.TeleportAccessError('x'),
    new errors.DryRunNotKeptError(),
  ];
  for (const e of made) assert.ok(rows.get(e.code)?.includes(`\`${e.name}\``), `${e.name} (${e.code}) is documented`);
  const exported = Object.values(errors).filter(
    (v) => typeof v === 'function' && v.prototype instanceof errors.ForwarderError,
  );
  assert.equal(made.length - 1, exported.length, 'every error class is constructed here');
});
