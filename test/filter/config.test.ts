// [[filter]] tables in the TOML file: read in order, and refused at load with the file, the filter and the fix
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

function load(t: import('node:test').TestContext, toml: string, files: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-filter-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const file = join(dir, 'forwarder.toml');
  writeFileSync(file, toml);
  return { file, load: () => loadConfig({ file, env: { DD_API_KEY: 'k' }, partial: true }) };
}

test('[[filter]] tables load in order with their nested tables', (t) => {
  const { load: l } = load(
    t,
    `
[[filter]]
pattern = "events.log"
type = "grep"
[[filter.regexp]]
key = "$.server_labels.env"
pattern = "^prod$"
[[filter.or]]
[[filter.or.exclude]]
key = "event"
pattern = "^db\\\\."

[[filter]]
type = "record_transformer"
remove-keys = ["$.addr.remote"]
[filter.record]
cluster = '\${record["cluster_name"]}'

[[filter]]
type = "redact"
keys = ["user"]
mode = "hmac"
key-file = "hmac.key"
`,
    { 'hmac.key': 'a-secret-of-enough-length-0123456789\n' },
  );
  const c = l();
  assert.deepEqual(c.filters.slice(0, 2), [
    {
      type: 'grep',
      pattern: 'events.log',
      grep: {
        regexp: [{ key: '$.server_labels.env', pattern: '^prod$' }],
        or: [{ exclude: [{ key: 'event', pattern: '^db\\.' }] }],
      },
    },
    {
      type: 'record_transformer',
      pattern: '**',
      transform: { record: { cluster: '${record["cluster_name"]}' }, removeKeys: ['$.addr.remote'] },
    },
  ]);
  const redact = c.filters[2]!;
  assert.equal(redact.type, 'redact');
  // the key is there for the filter, and never in a dump of the config
  assert.equal((redact as { redact: { hmacKey?: string } }).redact.hmacKey, 'a-secret-of-enough-length-0123456789');
  assert.ok(!JSON.stringify(c).includes('a-secret-of-enough'));
});

test('bad [[filter]] tables: the file, the filter, the key and the fix', (t) => {
  const cases: Array<[string, RegExp]> = [
    [
      '[[filter]]\npattern = "a"',
      /\[\[filter\]\] #1: key "type" is required: one of "grep", "record_transformer", "redact"/,
    ],
    ['[[filter]]\ntype = "parser"', /key "type" is required: .*got "parser"/],
    ['[[filter]]\ntype = "grep"\nrecrod = 1', /\[\[filter\]\] #1: unknown key "recrod"/],
    [
      '[[filter]]\ntype = "grep"\nremove-keys = ["a"]',
      /key "remove-keys" is for record_transformer filters, not grep: remove it/,
    ],
    [
      '[[filter]]\ntype = "grep"\n[[filter.regexp]]\nkey = "a"\npattern = "x"\n[[filter.regexp]]\nkey = "a"\npattern = "y"',
      /\[\[filter\]\] #1: regexp #2: Duplicate key: a \(Fluentd refuses this config too\)/,
    ],
    [
      '[[filter]]\ntype = "grep"\n[[filter.and]]\n[[filter.and.regexp]]\nkey = "a"\npattern = "x"\n[[filter.and.exclude]]\nkey = "b"\npattern = "y"',
      /Do not specify both <regexp> and <exclude> in <and>/,
    ],
    ['[[filter]]\ntype = "grep"\n[[filter.regexp]]\npattern = "x"', /regexp" #1: key "key" is required/],
    ['[[filter]]\ntype = "grep"\n[[filter.regexp]]\nkey = "a"\npattern = "(x"', /regexp #1: invalid regexp/],
    [
      '[[filter]]\ntype = "record_transformer"\nkeep-keys = ["a"]',
      /key "keep-keys": `renew_record` must be true to use `keep_keys`/,
    ],
    [
      '[[filter]]\ntype = "record_transformer"\nenable-ruby = true\n[filter.record]\nx = "${record[\\"a\\"].upcase}"',
      /key "record.x": \$\{record\["a"\].upcase\} needs ruby to be evaluated/,
    ],
    ['[[filter]]\ntype = "redact"', /key "keys" is required/],
    ['[[filter]]\ntype = "redact"\nkeys = ["u"]\nmode = "hmac"', /mode "hmac" needs key "key-file"/],
    ['[[filter]]\ntype = "redact"\nkeys = ["u"]\nmode = "hmac"\nkey-file = "short.key"', /holds fewer than 16 bytes/],
    [
      '[[filter]]\ntype = "redact"\nkeys = ["u"]\nmode = "hmac"\nkey-file = "none.key"',
      /cannot read .*none\.key: ENOENT/,
    ],
    ['[[filter]]\ntype = "grep"\npattern = "a.{b"', /\[\[filter\]\] #1: /],
    ['filter = 1', /key "filter": expected \[\[filter\]\] tables/],
  ];
  for (const [toml, re] of cases) {
    const { file, load: l } = load(t, toml, { 'short.key': 'tiny' });
    assert.throws(
      l,
      (err: unknown) => err instanceof ConfigError && re.test(err.message) && err.message.includes(file),
      toml,
    );
  }
  // the short key's content is never echoed
  const { load: l } = load(t, '[[filter]]\ntype = "redact"\nkeys = ["u"]\nmode = "hmac"\nkey-file = "short.key"', {
    'short.key': 'tiny',
  });
  assert.throws(l, (err: unknown) => !(err as Error).message.includes('tiny'));
});

test('a placeholder no record can give is warned about once at load, as fluentd warns per record', (t) => {
  const { load: l } = load(
    t,
    '[[filter]]\ntype = "record_transformer"\n[filter.record]\na = "${message}"\nb = "${message} ${tag}"\nc = \'${record["x"]}\'',
  );
  const c = l();
  const warns = c.notes.filter((n) => /unknown placeholder/.test(n.message));
  assert.equal(warns.length, 1);
  assert.match(warns[0]!.where, /\[\[filter\]\] #1/);
  assert.match(warns[0]!.message, /`\$\{message\}`/);
});
