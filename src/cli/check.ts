// `check`: loads the config the way `start` does and checks what `start` would trip over, printing one line per
// check and a summary. exit code 0 when nothing failed (warnings allowed), 1 otherwise. secrets are never printed:
// files are named, contents and keys are not.
import { loadConfig, type Config } from '../config/load.js';
import { ConfigError, ForwarderError } from '../errors.js';
import { resolveIntake } from '../sinks/datadog/site.js';
import { INTAKE_PATH } from '../sinks/datadog/limits.js';
import { loadExtraCa } from '../sinks/datadog/transport.js';
import {
  IdentityExpiredError,
  loadIdentity,
  type IdentitySource,
  type TlsIdentity,
} from '../sources/teleport/identity.js';
import { blocker, result, formatResult, summaryLine, isoSeconds, type CheckResult } from '../checks/report.js';
import { checkCa, checkServerCert, checkChain, checkKey } from '../tls/check.js';
import { readForCheck, secretModeResult, storageResult } from '../checks/files.js';
import { validateApiKey, keyResult } from '../sinks/datadog/check.js';
import { FORWARDER_USER, ROLE_FILE } from '../sources/teleport/role.js';
import type { X509Certificate } from 'node:crypto';

export interface CheckOptions {
  configFile?: string;
  /** flags given on the command line, by flag name (givenFlags) */
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  out: { write(text: string): unknown };
  /** skip the checks that contact Datadog and Teleport */
  offline?: boolean;
  /** for tests */
  now?: number;
  cwd?: string;
}

const IDENTITY_WARN_MS = 24 * 3600_000; // an identity that ends within a day needs a renewal soon
const NET_TIMEOUT_MS = 10_000; // 10 s at least for one network check

export async function runCheck(o: CheckOptions): Promise<number> {
  const results: CheckResult[] = [];
  const emit = (r: CheckResult | undefined) => {
    if (!r) return;
    results.push(r);
    o.out.write(formatResult(r) + '\n');
  };
  const now = o.now ?? Date.now();
  const cwd = o.cwd ?? process.cwd();

  const config = loadForCheck(o, cwd, emit);
  if (config) {
    emit(storageResult(config.storage));
    checkIngest(config, now, emit);
    await checkDatadog(config, o.offline ?? false, emit);
    await checkTeleport(config, o.offline ?? false, now, emit);
  }
  const failed = results.some((r) => r.status === 'fail');
  o.out.write(summaryLine(results) + '\n');
  return failed ? 1 : 0;
}

/** the full load `start` does; when it fails, a partial load lets the other checks still run */
function loadForCheck(o: CheckOptions, cwd: string, emit: (r: CheckResult) => void): Readonly<Config> | undefined {
  const input = { file: o.configFile, env: o.env, flags: o.flags, cwd };
  try {
    const config = loadConfig(input);
    emit(result('pass', 'config', config.file ? `${config.file} loads` : 'no config file; flags and environment load'));
    for (const n of config.notes)
      emit(result(n.level === 'warn' ? 'warn' : 'pass', 'config', `${n.where}: ${n.message}`));
    return config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    emit(result('fail', 'config', err.message));
  }
  try {
    return loadConfig({ ...input, partial: true });
  } catch (err) {
    if (err instanceof ConfigError) return undefined; // the same problem, already reported
    throw err;
  }
}

/**
 * the checks of the ingest's files (CA, certificate, key and its passphrase): `start` runs them before it opens
 * the spool or the admin server, and fails with these same words. (the Teleport identity keeps its own errors,
 * from the poller's start: only the mode of its private key is said here, never blocking.)
 */
export function startupChecks(config: Readonly<Config>, now: number): CheckResult[] {
  const results: CheckResult[] = [];
  const emit = (r: CheckResult | undefined) => {
    if (r) results.push(r);
  };
  if (config.ingest.enabled) checkIngest(config, now, emit);
  if (config.teleport.enabled) {
    // the same file check names; no credentials at all is the poller's error to give
    const key = config.teleport.identity ?? config.teleport.key;
    if (key) emit(secretModeResult(key, 'Teleport private key'));
    emit(startupIdentityResult(config, now));
  }
  // the API key's file, or the config file it is written in: the modes check reports
  if (config.datadog.apiKeyFile) emit(secretModeResult(config.datadog.apiKeyFile, 'Datadog API key file'));
  else if (inConfigFile(config, config.datadog.apiKeyOrigin))
    emit(secretModeResult(config.file!, 'config file holding the API key'));
  return results;
}

/** the poller's credentials, read as the poller reads them: an unusable file stops start before anything opens */
function startupIdentityResult(config: Readonly<Config>, now: number): CheckResult | undefined {
  const source = identitySourceOf(config);
  if (!source) return undefined;
  try {
    loadIdentity(source, now);
    return undefined;
  } catch (err) {
    if (!(err instanceof ForwarderError)) throw err;
    // with refresh on, an expired identity is waited for: the poller starts and reads the file again
    if (err instanceof IdentityExpiredError && config.teleport.refreshEnabled) return undefined;
    return blocker('identityFile' in source ? 'teleport.identity' : 'teleport.cert', identityProblem(err, source));
  }
}

function identitySourceOf(config: Readonly<Config>): IdentitySource | undefined {
  const t = config.teleport;
  if (t.identity) return { identityFile: t.identity };
  if (t.cert && t.key && t.ca) return { certFile: t.cert, keyFile: t.key, caFile: t.ca };
  return undefined;
}

/** an unusable identity's message, with the command that makes the file when it does not say one already */
export function identityProblem(err: Error, source: IdentitySource): string {
  if (/--out=/.test(err.message)) return err.message;
  const make =
    'identityFile' in source
      ? `make it with \`tctl auth sign --user=${FORWARDER_USER} --format=file --ttl=720h --out=${source.identityFile}\` (on an Auth Service host; the user and role are in ${ROLE_FILE}, which \`teleport-datadog-forwarder configure\` writes), or let tbot write it there`
      : `write the certificate, key and CA again with \`tctl auth sign --user=${FORWARDER_USER} --format=tls --ttl=720h --out=<name>\` (it makes <name>.crt, <name>.key and <name>.cas), or use an identity file from tbot (teleport.identity)`;
  return `${err.message}: ${make}`;
}

/** a secret written in the config file itself (our TOML: the file; a fluent.conf: `<file>: api_key`) */
function inConfigFile(config: Readonly<Config>, origin: string | undefined): boolean {
  return (
    config.file !== null && origin !== undefined && (origin === config.file || origin.startsWith(`${config.file}:`))
  );
}

/** what a failed startup check means for `start`: one error naming where the setting was given; undefined when none failed */
export function startupFailure(results: readonly CheckResult[], config: Readonly<Config>): string | undefined {
  // only what start cannot run past; the rest (a file open to others, an expired CA in a bundle, ...) warns
  const failed = results.filter((r) => r.status === 'fail' && r.blocking);
  if (failed.length === 0) return undefined;
  const lines = failed.map((r) => `${whereSet(r.name, config)}${r.detail}`);
  const file = config.file ? ` --config ${config.file}` : '';
  const more = `(\`teleport-datadog-forwarder check${file}\` runs every check)`;
  return failed.length === 1
    ? `${lines[0]} ${more}`
    : `${failed.length} problems with the files start needs ${more}:\n  ${lines.join('\n  ')}`;
}

/** where a setting was given, as the loader recorded it, as a message prefix ending in its key */
function whereSet(key: string, config: Readonly<Config>): string {
  const where = config.origins[key];
  if (where === undefined) return `${config.file ? `${config.file}: ` : ''}key "${key}": `;
  // a file's origin names the key already (`<file>: key "x"`); a flag's or an environment variable's does not
  return where.endsWith(`key "${key}"`) ? `${where}: ` : `${where}: key "${key}": `;
}

/** a file that cannot be read: the reason, what the setting should name, and what to do */
function unreadable(problem: string, expected: string): string {
  return `${problem}: expected ${expected}; fix the path, or create the files with \`teleport-datadog-forwarder configure\``;
}

function checkIngest(config: Readonly<Config>, now: number, emit: (r: CheckResult | undefined) => void): void {
  const ing = config.ingest;
  if (!ing.enabled) {
    emit(result('skip', 'ingest', 'the Fluentd-compatible ingest is off (ingest.enabled)'));
    return;
  }
  let cas: X509Certificate[] = [];
  if (!ing.ca) emit(blocker('ingest.ca', 'not set: the ingest needs the CA that signs client certificates'));
  else {
    const r = readForCheck(ing.ca);
    if ('problem' in r)
      emit(
        blocker(
          'ingest.ca',
          unreadable(r.problem, 'the PEM CA certificate that signs the client certificates (ca.crt)'),
        ),
      );
    else {
      const c = checkCa(r.text, ing.ca, now);
      cas = c.cas;
      emit(c.result);
    }
  }
  let cert: X509Certificate | undefined;
  if (!ing.cert) emit(blocker('ingest.cert', 'not set: the ingest needs a server certificate'));
  else {
    const r = readForCheck(ing.cert);
    if ('problem' in r) emit(blocker('ingest.cert', unreadable(r.problem, 'the PEM server certificate (server.crt)')));
    else {
      const c = checkServerCert(r.text, ing.cert, now);
      cert = c.cert;
      emit(c.result);
    }
  }
  if (cert && cas.length > 0) emit(checkChain(cert, cas, ing.cert!, ing.ca!));
  // the loader's own account: the file is named only when the passphrase was read from it
  const passphraseFile = ing.keyPassphraseFile;
  if (!ing.key) emit(blocker('ingest.key', "not set: the ingest needs the server certificate's private key"));
  else {
    const r = readForCheck(ing.key);
    if ('problem' in r)
      emit(blocker('ingest.key', unreadable(r.problem, 'the PEM private key of the server certificate (server.key)')));
    else {
      emit(
        checkKey(r.text, ing.key, {
          cert,
          certFile: ing.cert,
          passphrase: ing.keyPassphrase,
          passphraseFrom: passphraseFile ?? 'ingest.key-passphrase',
        }),
      );
    }
    emit(secretModeResult(ing.key, 'ingest private key'));
  }
  if (passphraseFile) emit(secretModeResult(passphraseFile, 'passphrase of the ingest key'));
  else if (ing.keyPassphrase && inConfigFile(config, config.origins['ingest.key-passphrase']))
    emit(secretModeResult(config.file!, 'config file holding the key passphrase'));
}

async function checkDatadog(
  config: Readonly<Config>,
  offline: boolean,
  emit: (r: CheckResult | undefined) => void,
): Promise<void> {
  const dd = config.datadog;
  let apiBaseUrl: string | undefined;
  try {
    const endpoint = resolveIntake({ site: dd.site, url: dd.url });
    apiBaseUrl = endpoint.apiBaseUrl;
    emit(
      result(
        'pass',
        'datadog.site',
        `logs go to ${endpoint.intakeBaseUrl}${INTAKE_PATH}${endpoint.site ? ` (site ${endpoint.site})` : ' (datadog.url)'}`,
      ),
    );
  } catch (err) {
    if (!(err instanceof ForwarderError)) throw err;
    emit(result('fail', 'datadog.site', err.message));
  }
  let extraCa: string | undefined;
  if (dd.caFile) {
    try {
      extraCa = loadExtraCa(dd.caFile);
      emit(result('pass', 'datadog.ca-file', `${dd.caFile} holds a certificate, trusted besides the system CAs`));
    } catch (err) {
      if (!(err instanceof ForwarderError)) throw err;
      emit(result('fail', 'datadog.ca-file', err.message));
    }
  }

  const keyFile = dd.apiKeyFile;
  if (!dd.apiKey) {
    emit(
      result(
        config.dryRun ? 'warn' : 'fail',
        'datadog.api-key',
        `not set: set the DD_API_KEY environment variable or datadog.api-key-file${config.dryRun ? ' (fine for --dry-run, which ships nothing)' : ''}`,
      ),
    );
  } else if (inConfigFile(config, dd.apiKeyOrigin)) {
    emit(
      result(
        'warn',
        'datadog.api-key',
        `written in ${config.file}: prefer the DD_API_KEY environment variable or datadog.api-key-file, and keep that file private`,
      ),
    );
    emit(secretModeResult(config.file!, 'config file holding the API key'));
  } else if (dd.apiKeyOrigin?.startsWith('flag ')) {
    emit(
      result(
        'warn',
        'datadog.api-key',
        `given as ${dd.apiKeyOrigin}: other users can see it in the process list; prefer DD_API_KEY or datadog.api-key-file`,
      ),
    );
  } else {
    emit(result('pass', 'datadog.api-key', `set, from ${dd.apiKeyOrigin ?? 'the config'}`));
  }
  if (keyFile) emit(secretModeResult(keyFile, 'Datadog API key file'));

  if (!dd.apiKey || !apiBaseUrl) {
    emit(result('skip', 'datadog.validate', 'no usable API key and site to check'));
    return;
  }
  if (offline) {
    emit(result('skip', 'datadog.validate', `offline: ${apiBaseUrl} not contacted`));
    return;
  }
  const verdict = await validateApiKey({
    apiBaseUrl,
    apiKey: dd.apiKey,
    timeoutMs: Math.max(dd.timeoutMs, NET_TIMEOUT_MS),
    extraCa,
  });
  emit(keyResult(verdict, apiBaseUrl));
}

async function checkTeleport(
  config: Readonly<Config>,
  offline: boolean,
  now: number,
  emit: (r: CheckResult | undefined) => void,
): Promise<void> {
  const t = config.teleport;
  if (!t.enabled) {
    emit(result('skip', 'teleport', 'the Teleport poller is off (teleport.enabled)'));
    return;
  }
  let source: IdentitySource | undefined;
  if (t.identity) source = { identityFile: t.identity };
  else if (t.cert && t.key && t.ca) source = { certFile: t.cert, keyFile: t.key, caFile: t.ca };
  if (!source) {
    emit(
      result(
        'fail',
        'teleport.identity',
        'no credentials: set teleport.identity (an identity file from tctl auth sign or tbot), or teleport.ca, teleport.cert and teleport.key',
      ),
    );
    emit(result('skip', 'teleport.connect', 'no credentials'));
    return;
  }
  let identity: TlsIdentity | undefined;
  try {
    identity = loadIdentity(source, now);
  } catch (err) {
    if (!(err instanceof ForwarderError)) throw err;
    // a failure with refresh on too: nothing is read until the file is renewed. start runs and waits for that
    const waits =
      err instanceof IdentityExpiredError && t.refreshEnabled
        ? `; teleport.refresh.enabled is on, so start does not exit: the poller waits for the file to be renewed (read every ${Math.max(1, Math.round(t.refreshIntervalMs / 1000))} s)`
        : '';
    emit(result('fail', 'teleport.identity', identityProblem(err, source) + waits));
  }
  if (identity) {
    const who = `user "${identity.user ?? '?'}"${identity.clusterName ? ` of cluster ${identity.clusterName}` : ''}`;
    const left = identity.notAfter.getTime() - now;
    if (left < IDENTITY_WARN_MS && !t.refreshEnabled) {
      emit(
        result(
          'warn',
          'teleport.identity',
          `${identity.file}: ${who}, expires in ${Math.max(0, Math.round(left / 3_600_000))} h at ${isoSeconds(identity.notAfter)} and teleport.refresh.enabled is off: renew it, or let tbot do it with refresh on`,
        ),
      );
    } else {
      emit(
        result('pass', 'teleport.identity', `${identity.file}: ${who}, valid until ${isoSeconds(identity.notAfter)}`),
      );
    }
  }
  emit(secretModeResult('identityFile' in source ? source.identityFile : source.keyFile, 'Teleport private key'));

  if (!identity) emit(result('skip', 'teleport.connect', 'the identity is unusable'));
  else if (offline) emit(result('skip', 'teleport.connect', `offline: ${t.addr} not contacted`));
  else {
    // grpc is loaded only to probe: start runs these checks too, and an ingest-only start never needs it
    const { probeAuthService } = await import('../sources/teleport/check.js');
    const { INTERNAL: TELEPORT_INTERNAL } = await import('../sources/teleport/options.js');
    emit(
      await probeAuthService({
        addr: t.addr,
        identity,
        serverName: t.serverName,
        mode: t.mode,
        clusterName: t.clusterName,
        apiVersion: TELEPORT_INTERNAL.apiVersion,
        timeoutMs: Math.max(t.timeoutMs, NET_TIMEOUT_MS),
        now,
      }),
    );
  }
}
