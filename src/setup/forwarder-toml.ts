// the forwarder.toml that `configure` writes, for one of two shapes: beside teleport-event-handler (the ingest
// only: no [teleport] table, whose keys would be "not used" on every start) or all in one (the poller on, the
// ingest written but off, since both on ship each event twice). the files it just generated, Datadog by site
// with the key from DD_API_KEY, match rules for teleport-event-handler's tags. every key's comment comes from the
// schema (toml.ts). pure.
import { settingsTable, matchTable, commentLines } from './toml.js';

export interface ForwarderTomlOptions {
  /** file names relative to the config file */
  files: { ca: string; cert: string; key: string; passphraseFile?: string; identity: string };
  /** the teleport auth service or proxy: all in one (the poller on, the ingest off); without it the ingest only */
  teleportAddr?: string;
  lock: boolean;
  site?: string;
  /** for the header line */
  generatedBy?: string;
}

export function forwarderToml(o: ForwarderTomlOptions): string {
  const poller = o.teleportAddr !== undefined;
  const parts: string[] = [];
  parts.push(
    [
      ...commentLines(
        `teleport-datadog-forwarder configuration, written by ${o.generatedBy ?? '`teleport-datadog-forwarder configure`'}.`,
      ),
      ...commentLines(
        'Paths are relative to this file. Every key also has a flag and an environment variable (shown under it); flags beat environment variables, which beat this file. Full reference: docs/configuration.md.',
      ),
      ...commentLines(
        poller
          ? 'All in one: [teleport], the built-in poller, reads the audit log and session recordings itself. [ingest], the Fluentd-compatible endpoint for a teleport-event-handler, is written but off: with both on for one cluster, every event reaches Datadog twice. Turn it on only for a handler of another cluster.'
          : 'Beside teleport-event-handler: [ingest] is the Fluentd-compatible endpoint the handler posts to (teleport-event-handler.toml beside this file). To poll Teleport directly instead of running the handler, run `teleport-datadog-forwarder configure <dir> <teleport address>`.',
      ),
      '',
      ...commentLines(
        'Check the setup with `teleport-datadog-forwarder check --config forwarder.toml`, then run it with `DD_API_KEY=... teleport-datadog-forwarder start --config forwarder.toml`.',
      ),
    ].join('\n') + '\n',
  );

  const top: Array<{ key: string; value?: unknown; commented?: boolean; note?: string }> = [
    { key: 'storage', value: './storage' },
    { key: 'log-level' },
  ];
  if (poller) {
    top.push({
      key: 'start-time',
      value: '2024-05-01T00:00:00Z',
      commented: true,
      note: 'For the poller ([teleport] below): uncomment and set it before the first start to also ship the audit log from before then (e.g. from where teleport-event-handler stopped).',
    });
  }
  parts.push(settingsTable('', top));

  const ingest: Array<{ key: string; value?: unknown; note?: string }> = [
    {
      key: 'ingest.enabled',
      value: !poller,
      note: poller
        ? 'Off: the poller ships this cluster already, and a handler posting here too would ship each event twice. Set it to true to take posts from a teleport-event-handler of another cluster: the files below are ready, and teleport-event-handler.toml beside this file posts here.'
        : undefined,
    },
    { key: 'ingest.host' },
    { key: 'ingest.port' },
    { key: 'ingest.ca', value: o.files.ca },
    { key: 'ingest.cert', value: o.files.cert },
    { key: 'ingest.key', value: o.files.key },
    { key: 'ingest.ack' },
  ];
  if (o.files.passphraseFile) ingest.push({ key: 'ingest.key-passphrase-file', value: o.files.passphraseFile });
  parts.push(
    settingsTable(
      'ingest',
      ingest,
      'The Fluentd-compatible endpoint (HTTPS with mutual TLS) for teleport-event-handler: point its forward.fluentd url at https://<this host>:<port>/events.log (see teleport-event-handler.toml next to this file).',
    ),
  );

  if (poller) {
    parts.push(
      settingsTable(
        'teleport',
        [
          { key: 'teleport.enabled', value: true },
          { key: 'teleport.addr', value: o.teleportAddr },
          {
            key: 'teleport.identity',
            value: o.files.identity,
            note: 'Sign it for the user in teleport-datadog-forwarder-role.yaml (the commands are in that file).',
          },
          { key: 'teleport.refresh.enabled', value: false, note: 'Turn it on when tbot writes the identity file.' },
        ],
        'The built-in poller: reads audit events and session recordings from the Teleport Auth Service over gRPC.',
      ),
    );
  }

  if (o.lock && poller) {
    parts.push(
      settingsTable('lock', [
        {
          key: 'lock.enabled',
          value: true,
          note: 'The role file grants the `lock` create and update permissions this needs.',
        },
        { key: 'lock.failed-attempts-count' },
        { key: 'lock.period' },
        { key: 'lock.for' },
      ]),
    );
  }

  parts.push(
    settingsTable('datadog', [
      {
        key: 'datadog.site',
        value: o.site ?? 'datadoghq.com',
        note: 'The API key is not written here: set the DD_API_KEY environment variable, or add api-key-file = "<file>" (mode 0600).',
      },
      { key: 'datadog.compression' },
    ]),
  );

  parts.push(settingsTable('spool', [{ key: 'spool.max-bytes' }]));
  parts.push(settingsTable('admin', [{ key: 'admin.enabled' }, { key: 'admin.host' }, { key: 'admin.port' }]));
  parts.push(settingsTable('routing', [{ key: 'routing.unmatched' }, { key: 'routing.old-timestamps' }]));

  parts.push(
    matchTable(
      { pattern: 'events.log test.log', type: 'datadog', source: 'teleport', service: 'teleport-audit' },
      "Match rules, tried in order: the first whose pattern matches a record's tag decides where it goes. Audit events are tagged events.log (test.log with older teleport-event-handler templates).",
    ),
  );
  parts.push(
    matchTable(
      {
        pattern: 'session.*.log',
        type: 'datadog',
        source: 'teleport',
        service: 'teleport-sessions',
        'include-tag-key': true,
      },
      'Session recording events are tagged session.<session id>.log. Set type = "null" to keep them out of Datadog.',
    ),
  );
  return parts.join('\n');
}
