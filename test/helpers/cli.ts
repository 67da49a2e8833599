// runs a cli command to its end, as a user would (a child process), without blocking this process: the servers
// a test starts here (intake, fake teleport) keep answering meanwhile
import { spawn } from 'node:child_process';
import { cliCommand } from './paths.js';

/** exit code and stdout and stderr together; killed after 60 s (a hang guard) */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string }> {
  const child = spawn(cliCommand[0]!, [...cliCommand.slice(1), ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TDF_ADMIN_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, out });
    }),
  );
}
