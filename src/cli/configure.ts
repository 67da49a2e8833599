// `configure <dir> [teleport-addr]`: writes what a new installation needs, like teleport-event-handler's own
// configure: mTLS material for the ingest, our forwarder.toml and a teleport-event-handler.toml that posts to us;
// with a teleport address (all in one: the poller) also the Teleport role for its user. only what the shape uses,
// so its config draws no "not used" notes. it never overwrites a file unless told to (--force), and prints the
// next steps.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SetupError } from '../errors.js';
import { createMaterial, DEFAULT_BITS, DEFAULT_TTL_HOURS } from '../setup/material.js';
import { forwarderToml } from '../setup/forwarder-toml.js';
import { handlerToml, ingestBaseUrl } from '../setup/handler-toml.js';
import { roleYaml, ROLE_FILE, FORWARDER_USER } from '../sources/teleport/role.js';
import { setting } from '../setup/toml.js';

export interface ConfigureOptions {
  dir: string;
  /** teleport auth service or proxy (host:port); turns the poller on in forwarder.toml */
  teleportAddr?: string;
  /** names on the server certificate; default ['localhost'] */
  dnsNames?: string[];
  ips?: string[];
  /** certificate lifetime; default 87600 (10 years) */
  ttlHours?: number;
  /** RSA key length: 1024, 2048 or 4096 (default) */
  bits?: number;
  /** encrypt server.key with a random passphrase (default true) */
  encryptServerKey?: boolean;
  /** grant the lock permissions and turn locking on */
  lock?: boolean;
  /** overwrite existing files */
  force?: boolean;
  out: { write(text: string): unknown };
}

// keys and passphrases only: certificates are public, and a handler or a container user must read them
const SECRET = 0o600;
const PUBLIC = 0o644;

interface OutFile {
  name: string;
  content: string;
  mode: number;
  what: string;
}

export const FILES = {
  ca: 'ca.crt',
  caKey: 'ca.key',
  cert: 'server.crt',
  key: 'server.key',
  passphrase: 'server.key.passphrase',
  clientCert: 'client.crt',
  clientKey: 'client.key',
  role: ROLE_FILE,
  config: 'forwarder.toml',
  handler: 'teleport-event-handler.toml',
  identity: 'identity',
} as const;

export async function runConfigure(o: ConfigureOptions): Promise<number> {
  const dir = resolve(o.dir);
  // "a,b" and repeated flags both work, as with teleport-event-handler's --dns-names
  const list = (v: string[]) =>
    v
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter(Boolean);
  const dnsNames = list(o.dnsNames ?? ['localhost']);
  const ips = list(o.ips ?? []);
  const encrypt = o.encryptServerKey ?? true;
  const lock = o.lock ?? false;
  const poller = o.teleportAddr !== undefined;
  if (lock && !poller) {
    throw new SetupError(
      'locking is done by the built-in poller, which needs the Teleport address: configure <dir> <teleport address> --lock (teleport-event-handler has its own lock settings)',
    );
  }
  if (o.teleportAddr !== undefined && !/^\S+:\d+$/.test(o.teleportAddr)) {
    throw new SetupError(
      `Teleport address must be host:port (the Auth Service, usually :3025, or the Proxy, usually :443), got "${o.teleportAddr}"`,
    );
  }

  // refuse before generating anything: nothing is written unless every file may be
  const names = [
    FILES.ca,
    FILES.caKey,
    FILES.cert,
    FILES.key,
    ...(encrypt ? [FILES.passphrase] : []),
    FILES.clientCert,
    FILES.clientKey,
    ...(poller ? [FILES.role] : []),
    FILES.config,
    FILES.handler,
  ];
  const existing = names.filter((n) => existsSync(join(dir, n)));
  if (existing.length > 0 && !o.force) {
    throw new SetupError(
      `${dir} already has ${existing.join(', ')}: nothing was written. Use another directory, or --force to overwrite them`,
    );
  }

  const m = createMaterial({
    dnsNames,
    ips,
    ttlHours: o.ttlHours ?? DEFAULT_TTL_HOURS,
    bits: o.bits ?? DEFAULT_BITS,
    encryptServerKey: encrypt,
  });
  const port = setting('ingest.port').default as number;
  const host = dnsNames[0] ?? ips[0]!;
  const files: OutFile[] = [
    {
      name: FILES.ca,
      content: m.ca.cert,
      mode: PUBLIC,
      what: 'CA certificate: verifies client certificates, and teleport-event-handler verifies the ingest with it',
    },
    {
      name: FILES.caKey,
      content: m.ca.key,
      mode: SECRET,
      what: 'CA private key: keep it offline, it signs new certificates',
    },
    {
      name: FILES.cert,
      content: m.server.cert,
      mode: PUBLIC,
      what: `ingest server certificate for ${[...dnsNames, ...ips].join(', ')}`,
    },
    {
      name: FILES.key,
      content: m.serverKeyFile,
      mode: SECRET,
      what: encrypt ? 'ingest server private key, encrypted (AES-256)' : 'ingest server private key',
    },
    ...(m.passphrase
      ? [{ name: FILES.passphrase, content: m.passphrase + '\n', mode: SECRET, what: 'passphrase of server.key' }]
      : []),
    {
      name: FILES.clientCert,
      content: m.client.cert,
      mode: PUBLIC,
      what: 'client certificate for teleport-event-handler',
    },
    {
      name: FILES.clientKey,
      content: m.client.key,
      mode: SECRET,
      what: 'client private key for teleport-event-handler',
    },
    ...(poller
      ? [
          {
            name: FILES.role,
            content: roleYaml({ lock, identityPath: join(dir, FILES.identity), teleportAddr: o.teleportAddr }),
            mode: PUBLIC,
            what: `Teleport role and user "${FORWARDER_USER}"${lock ? ' (with lock permissions)' : ''}, and the commands for its identity file`,
          },
        ]
      : []),
    {
      name: FILES.config,
      content: forwarderToml({
        files: {
          ca: FILES.ca,
          cert: FILES.cert,
          key: FILES.key,
          passphraseFile: m.passphrase ? FILES.passphrase : undefined,
          identity: FILES.identity,
        },
        teleportAddr: o.teleportAddr,
        lock,
      }),
      mode: PUBLIC,
      what: poller
        ? "this forwarder's configuration: the Teleport poller on, the ingest written but off"
        : "this forwarder's configuration: the ingest, for teleport-event-handler",
    },
    {
      name: FILES.handler,
      content: handlerToml({
        ca: join(dir, FILES.ca),
        cert: join(dir, FILES.clientCert),
        key: join(dir, FILES.clientKey),
        host,
        port,
        teleportAddr: o.teleportAddr,
        certNames: [...dnsNames, ...ips],
      }),
      mode: PUBLIC,
      what: poller
        ? 'sample config for a teleport-event-handler posting to this forwarder (with [ingest] enabled)'
        : 'config for teleport-event-handler, posting to this forwarder: replace the lines marked "replace"',
    },
  ];

  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const f of files) {
    const path = join(dir, f.name);
    // 'wx' fails if a file appeared since the check above; with --force the mode is reset on the existing file
    writeFileSync(path, f.content, { mode: f.mode, flag: o.force ? 'w' : 'wx' });
    chmodSync(path, f.mode);
  }

  const say = (s = '') => o.out.write(s + '\n');
  say(`Wrote ${files.length} files to ${dir}${existing.length > 0 ? ` (overwrote ${existing.join(', ')})` : ''}:`);
  const width = Math.max(...files.map((f) => f.name.length));
  for (const f of files) say(`  ${f.name.padEnd(width)}  ${f.what}`);
  say();
  say('Next steps:');
  const config = join(dir, FILES.config);
  const check = `Check the setup:\n       DD_API_KEY=<your key> teleport-datadog-forwarder check --config ${config}`;
  const start = `Start the forwarder:\n       DD_API_KEY=<your key> teleport-datadog-forwarder start --config ${config}`;
  const steps = poller
    ? [
        `Create the Teleport role and user:\n       tctl create -f ${join(dir, FILES.role)}`,
        `Get an identity file for "${FORWARDER_USER}" (or use tbot: see the comments in ${FILES.role}):\n       tctl auth sign --user=${FORWARDER_USER} --format=file --ttl=720h --out=${join(dir, FILES.identity)}`,
        check,
        start,
        `Stop teleport-event-handler if it ships this cluster: the poller replaces it (with both, every event is shipped twice).\n     For a handler of another cluster, set [ingest] enabled = true in ${FILES.config}.`,
      ]
    : [
        `Copy ${FILES.ca}, ${FILES.clientCert} and ${FILES.clientKey} to the host of teleport-event-handler, and replace the lines of\n     ${FILES.handler} marked "replace" (it posts to ${ingestBaseUrl(host, port)}/events.log).`,
        check,
        start,
        `Run teleport-event-handler with it:\n       teleport-event-handler start --config ${FILES.handler}`,
      ];
  steps.forEach((s, i) => say(`  ${i + 1}. ${s}`));
  return 0;
}
