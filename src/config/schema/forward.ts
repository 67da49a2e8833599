// teleport-event-handler's fluentd client settings: read so its toml loads; url paths give our tags
import type { Setting } from './setting.js';

export const FORWARD_SETTINGS = [
  {
    key: 'forward.fluentd.url',
    type: 'string',
    aliases: ['fluentd-url'],
    env: ['FDFWD_FLUENTD_URL'],
    doc: "teleport-event-handler's Fluentd URL; its path sets events-tag (`/test.log` -> `test.log`).",
  },
  {
    key: 'forward.fluentd.session-url',
    type: 'string',
    aliases: ['fluentd-session-url'],
    env: ['FDFWD_FLUENTD_SESSION_URL'],
    doc: "teleport-event-handler's session URL; its path sets session-tag-prefix.",
  },
  {
    key: 'forward.fluentd.ca',
    type: 'path',
    aliases: ['fluentd-ca'],
    env: ['FDWRD_FLUENTD_CA', 'FDFWD_FLUENTD_CA'],
    doc: 'Accepted for compatibility; not used (the built-in poller posts nowhere).',
  },
  {
    key: 'forward.fluentd.cert',
    type: 'path',
    aliases: ['fluentd-cert'],
    env: ['FDWRD_FLUENTD_CERT', 'FDFWD_FLUENTD_CERT'],
    doc: 'Accepted for compatibility; not used.',
  },
  {
    key: 'forward.fluentd.key',
    type: 'path',
    aliases: ['fluentd-key'],
    env: ['FDWRD_FLUENTD_KEY', 'FDFWD_FLUENTD_KEY'],
    doc: 'Accepted for compatibility; not used.',
  },
  {
    key: 'forward.fluentd.max-connections',
    type: 'int',
    aliases: ['fluentd-max-connections'],
    env: ['FDWRD_MAX_CONNECTIONS'],
    min: 1,
    doc: 'Accepted for compatibility; not used.',
  },
] as const satisfies readonly Setting[];
