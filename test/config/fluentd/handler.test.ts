// teleport-event-handler.toml: its keys kept or noted, through migrateFluentd
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { migrateFluentd } from '../../../src/config/fluentd/migrate.js';
import { fixture } from '../../helpers/paths.js';
import { TLS_SOURCE, hasNote, migrateAndLoad } from '../../helpers/migrate.js';

test('the handler toml: unknown keys are noted and dropped, a poller without credentials stays off', () => {
  const handler =
    'storage = "/var/lib/teleport-event-handler"\nbatch = 50\nmystery = 1\n\n[teleport]\naddr = "auth:3025"\n';
  const { r, c } = migrateAndLoad({
    fluentConf: readFileSync(fixture('fluentd', 'teleport-datadog.conf'), 'utf8'),
    handlerToml: handler,
    handlerTomlPath: '/opt/h/handler.toml',
  });
  assert.equal(c.teleport.batch, 50);
  assert.equal(c.teleport.addr, 'auth:3025');
  assert.equal(c.teleport.enabled, false);
  hasNote(r.notes, 'warn', 'handler.toml:3', /"mystery" is not a teleport-event-handler setting/);
  hasNote(r.notes, 'warn', 'handler.toml:1', /the poller stays off/);
  assert.throws(
    () =>
      migrateFluentd({
        fluentConf: '',
        fluentConfPath: 'f.conf',
        handlerToml: 'batch = 20\n[x',
        handlerTomlPath: '/h.toml',
      }),
    /: \/h\.toml:2:2: invalid TOML: incomplete key-value/,
  );
});

test('obsolete teleport-event-handler keys in the handler toml are left out with a note that says why', () => {
  const handler = 'namespace = "default"\ncursor = "x"\nmystery = 1\n[teleport]\nidentity = "/id"\n';
  const r = migrateFluentd({
    fluentConf: TLS_SOURCE,
    fluentConfPath: '/etc/fluent/fluent.conf',
    handlerToml: handler,
    handlerTomlPath: '/opt/h/handler.toml',
  });
  hasNote(
    r.notes,
    'warn',
    'handler.toml:1',
    /^"namespace" is an obsolete teleport-event-handler key: not carried over \(Teleport has one audit event namespace/,
  );
  hasNote(
    r.notes,
    'warn',
    'handler.toml:2',
    /^"cursor" is an obsolete teleport-event-handler key: not carried over \(the poller keeps its own cursors/,
  );
  hasNote(r.notes, 'warn', 'handler.toml:3', /"mystery" is not a teleport-event-handler setting/);
  assert.doesNotMatch(r.toml, /^(namespace|cursor) =/m);
});
