// runs the forwarder the way a user does: the cli, a real TOML file, env vars; collects its JSON log lines
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { waitFor } from './wait.js';
import { tmpdir } from 'node:os';
import { startFakeIntake, type FakeIntake } from '../../src/fakes/intake.js';
import { readJsonLines } from './json-lines.js';
import { MtlsClient, writeTlsFiles, type TlsFiles } from './mtls.js';
import { cliCommand } from './paths.js';

export { waitFor };

export interface RunningForwarder {
  proc: ChildProcess;
  /** parsed JSON log lines so far */
  logs: Array<Record<string, any>>;
  /** stderr text so far */
  stderr: () => string;
  /** ingest port, once listening */
  port?: number;
  /** resolves with the first log line that matches */
  waitForLog(pred: (l: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  /** resolves with the exit code (or signal name) */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * a config for the ingest path: mTLS files from writeTlsFiles, the local intake as Datadog, storage under dir
 * (storage: null leaves it out). `extra` goes at the end: more [datadog] keys, then any further tables.
 */
export function writeIngestConfig(
  dir: string,
  tls: { paths: { ca: string; cert: string; key: string } },
  intakeUrl: string,
  o: { storage?: string | null; extra?: string; top?: string } = {},
): string {
  const storage = o.storage === undefined ? join(dir, 'storage') : o.storage;
  return writeConfig(
    dir,
    `${storage === null ? '' : `storage = "${storage}"\n`}${o.top ?? ''}
[ingest]
host = "127.0.0.1"
port = 0
ca = "${tls.paths.ca}"
cert = "${tls.paths.cert}"
key = "${tls.paths.key}"

[datadog]
url = "${intakeUrl}"
${o.extra ?? ''}
`,
  );
}

export function writeConfig(dir: string, toml: string, name = 'forwarder.toml'): string {
  const file = join(dir, name);
  writeFileSync(file, toml);
  return file;
}

export async function runForwarder(
  args: string[],
  env: Record<string, string> = {},
  opts: { waitForIngest?: boolean } = {},
): Promise<RunningForwarder> {
  const proc = spawn(cliCommand[0]!, [...cliCommand.slice(1), ...args], {
    // tests run in parallel: the admin server takes any free port unless a test says otherwise
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TDF_ADMIN_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = readJsonLines(proc.stdout!);
  const logs = out.lines;
  let stderr = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  const fw: RunningForwarder = {
    proc,
    logs,
    stderr: () => stderr,
    exited,
    waitForLog(pred, timeoutMs = 30_000) {
      const all = () => logs.map((l) => JSON.stringify(l)).join('\n');
      return out.waitFor(pred, timeoutMs, exited, {
        timeout: () => `no matching log line within ${timeoutMs} ms; stderr: ${stderr}\nlogs: ${all()}`,
        exit: (code) => `forwarder exited (${code}) before the expected log line; stderr: ${stderr}\nlogs: ${all()}`,
      });
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
  if (opts.waitForIngest !== false) {
    try {
      const line = await fw.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('ingest listening'));
      fw.port = line.port;
    } catch (err) {
      // a start that timed out must not leave its process running past the test (the caller has no handle on it)
      proc.kill('SIGKILL');
      await exited;
      throw err;
    }
  }
  return fw;
}

/**
 * a temporary directory with mTLS files, the local intake accepting apiKey, the forwarder started through the cli
 * on the config `configFor` writes, and a client posting like teleport-event-handler; all torn down after the test
 */
export async function startIngestE2e(
  t: { after(fn: () => unknown): void },
  apiKey: string,
  configFor: (dir: string, tls: TlsFiles, intakeUrl: string) => string,
): Promise<{ dir: string; tls: TlsFiles; intake: FakeIntake; fw: RunningForwarder; client: MtlsClient }> {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-e2e-'));
  const tls = writeTlsFiles(dir);
  const intake = await startFakeIntake({ apiKeys: [apiKey] });
  const fw = await runForwarder(['start', '--config', configFor(dir, tls, intake.url)], { DD_API_KEY: apiKey });
  const client = new MtlsClient(fw.port!, tls);
  t.after(async () => {
    client.close();
    await fw.stop();
    await intake.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, tls, intake, fw, client };
}
