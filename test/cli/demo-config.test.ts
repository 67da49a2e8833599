// the config text the demo writes (pure): what it sets, and that the ports read back for a rerun in the same dir
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'smol-toml';
import { demoConfig, portIn } from '../../src/cli/demo.js';

const base = {
  follow: false,
  startTime: '2026-12-05T00:00:00.000Z',
  teleportAddr: '127.0.0.1:3025',
  adminPort: 8889,
  ingestPort: 8888,
  datadog: 'url = "http://127.0.0.1:9999"',
};

const cases: Array<[string, Partial<typeof base>, Record<string, unknown>]> = [
  [
    'a run that ends: exit on the last event, the local intake',
    {},
    { 'exit-on-last-event': true, datadog: { url: 'http://127.0.0.1:9999' } },
  ],
  ['--follow keeps running', { follow: true }, { 'exit-on-last-event': false }],
  ['the real datadog: a site', { datadog: 'site = "datadoghq.eu"' }, { datadog: { site: 'datadoghq.eu' } }],
  ['ports 0 until the app listens', { adminPort: 0, ingestPort: 0 }, {}],
];

for (const [name, over, want] of cases) {
  test(`demoConfig: ${name}`, () => {
    const c = { ...base, ...over };
    const text = demoConfig(c);
    assert.ok(text.startsWith('# written by `teleport-datadog-forwarder demo`'), 'the header a rerun checks');
    const toml = JSON.parse(JSON.stringify(parse(text))) as Record<string, any>;
    for (const [k, v] of Object.entries(want)) assert.deepEqual(toml[k], v, k);
    assert.equal(toml['start-time'], c.startTime);
    assert.deepEqual(toml.teleport, { addr: c.teleportAddr, identity: 'identity' });
    assert.equal(toml.ingest.port, c.ingestPort);
    assert.equal(toml.admin.port, c.adminPort);
    assert.deepEqual(
      toml.match.map((m: Record<string, unknown>) => [m.pattern, m.service, m['include-tag-key'] ?? false]),
      [
        ['events.log test.log', 'teleport-audit', false],
        ['session.*.log', 'teleport-sessions', true],
      ],
    );
    // a rerun in the same dir asks for the same ports again
    assert.equal(portIn(text, 'admin'), c.adminPort);
    assert.equal(portIn(text, 'ingest'), c.ingestPort);
  });
}

test('portIn: 0 when the table or its port is missing', () => {
  const table: Array<[string, string, number]> = [
    ['[admin]\nport = 5\n', 'admin', 5],
    ['[admin]\nhost = "x"\nport = 7\n[ingest]\nport = 8\n', 'ingest', 8],
    ['[admin]\nhost = "x"\n[ingest]\nport = 8\n', 'admin', 0],
    ['port = 5\n', 'admin', 0],
  ];
  for (const [text, t, want] of table) assert.equal(portIn(text, t), want, JSON.stringify(text));
});
