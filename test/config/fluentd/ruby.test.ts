import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evalRuby } from '../../../src/config/fluentd/ruby.js';

const env = { DD: 'key-1', SITE: 'datadoghq.eu', EMPTY: '' };

test('evalRuby: ENV lookups, fetch with and without a default, || and literals; anything else unresolved', () => {
  const cases: Array<[code: string, want: ReturnType<typeof evalRuby>]> = [
    [`ENV['DD']`, { ok: true, value: 'key-1', env: ['DD'], unset: [] }],
    [` ENV[ "DD" ] `, { ok: true, value: 'key-1', env: ['DD'], unset: [] }],
    [`ENV['MISSING']`, { ok: true, value: '', env: ['MISSING'], unset: ['MISSING'] }],
    [`ENV.fetch('SITE')`, { ok: true, value: 'datadoghq.eu', env: ['SITE'], unset: [] }],
    [`ENV.fetch('MISSING', 'dflt')`, { ok: true, value: 'dflt', env: ['MISSING'], unset: ['MISSING'] }],
    // fetch without a default raises in ruby: fluentd would not start
    [`ENV.fetch('MISSING')`, { ok: false, env: ['MISSING'], unset: ['MISSING'] }],
    [`ENV['MISSING'] || 'dflt'`, { ok: true, value: 'dflt', env: ['MISSING'], unset: ['MISSING'] }],
    // "" is true in ruby, so the right side is not taken
    [`ENV['EMPTY'] || 'dflt'`, { ok: true, value: '', env: ['EMPTY'], unset: [] }],
    // the right side of a satisfied || is not looked up
    [`ENV['SITE'] || ENV['OTHER']`, { ok: true, value: 'datadoghq.eu', env: ['SITE'], unset: [] }],
    [`nil || "x"`, { ok: true, value: 'x', env: [], unset: [] }],
    [`"a\\tb"`, { ok: true, value: 'a\tb', env: [], unset: [] }],
    [`'a\\tb'`, { ok: true, value: 'a\\tb', env: [], unset: [] }],
    [`Socket.gethostname`, { ok: false, env: [], unset: [] }],
    [`File.read("/etc/passwd")`, { ok: false, env: [], unset: [] }],
    [`"#{ENV['DD']}"`, { ok: false, env: [], unset: [] }],
    [`ENV['DD'] + 'x'`, { ok: false, env: [], unset: [] }],
    [`ENV['DD'] 'x'`, { ok: false, env: ['DD'], unset: [] }],
    [`'open`, { ok: false, env: [], unset: [] }],
  ];
  for (const [code, want] of cases) assert.deepEqual(evalRuby(code, env), want, code);
});
