// the file-system side of `check`: reading a file with a message that says why it cannot be read, the storage
// directory and the modes of secret files.
import {
  accessSync,
  constants,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { refuseBeforeOpen } from '../spool/storage-errors.js';
import { result, type CheckResult } from './report.js';

export type ReadOutcome = { text: string } | { problem: string };

/** reads a text file; the problem says why not (never the content) */
export function readForCheck(file: string): ReadOutcome {
  try {
    if (statSync(file).isDirectory()) return { problem: `${file} is a directory, not a file` };
    return { text: readFileSync(file, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: `${file} does not exist` };
    if (code === 'EACCES' || code === 'EPERM')
      return { problem: `${file} cannot be read by this user (${code}): check its owner and mode` };
    return { problem: `${file} cannot be read (${code ?? (err as Error).message})` };
  }
}

/** a secret file must not be readable by others (fail) and should not be by its group (warn) */
export function secretModeResult(file: string, what: string): CheckResult | undefined {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    return undefined; // missing or unreadable files are reported by the check that reads them
  }
  const octal = '0' + mode.toString(8).padStart(3, '0');
  if ((mode & 0o007) !== 0)
    return result('fail', 'secret-mode', `${file} (${what}) is open to other users (mode ${octal}): chmod 600 ${file}`);
  if ((mode & 0o070) !== 0)
    return result(
      'warn',
      'secret-mode',
      `${file} (${what}) is open to its group (mode ${octal}): chmod 600 ${file} unless the group is meant to read it`,
    );
  return result('pass', 'secret-mode', `${file} (${what}) mode ${octal}`);
}

/** the storage directory exists and takes a file, or can be created; a store that lost its CURRENT file fails */
export function storageResult(dir: string): CheckResult {
  const name = 'storage';
  try {
    if (!statSync(dir).isDirectory())
      return result('fail', name, `${dir} exists but is not a directory: set storage to a directory`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      return result('fail', name, `${dir} cannot be inspected (${(err as NodeJS.ErrnoException).code})`);
    return creatable(dir);
  }
  // the words start would refuse with; before the probe below writes into the directory
  const refused = refuseBeforeOpen(dir);
  if (refused) return result('fail', name, refused.message);
  // a real write, not access(): access() says yes to root on a read-only mount
  const probe = resolve(dir, `.tdf-check-${process.pid}`);
  try {
    writeFileSync(probe, '', { flag: 'wx' });
    unlinkSync(probe);
  } catch (err) {
    return result(
      'fail',
      name,
      `${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): the spool cannot be kept there`,
    );
  }
  return result('pass', name, `${dir} exists and is writable`);
}

function creatable(dir: string): CheckResult {
  let parent = dirname(dir);
  for (;;) {
    try {
      const st = statSync(parent);
      if (!st.isDirectory()) return result('fail', 'storage', `${dir} cannot be created: ${parent} is not a directory`);
      accessSync(parent, constants.W_OK | constants.X_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT')
        return result('fail', 'storage', `${dir} cannot be created in ${parent} (${code ?? (err as Error).message})`);
      const up = dirname(parent);
      if (up === parent) return result('fail', 'storage', `${dir} cannot be created: no existing parent directory`);
      parent = up;
      continue;
    }
    // access() passes for root everywhere, /proc included: make (and remove) a directory there to know
    try {
      rmdirSync(mkdtempSync(join(parent, '.tdf-check-')));
      return result('pass', 'storage', `${dir} does not exist yet; it will be created in ${parent}`);
    } catch (err) {
      return result(
        'fail',
        'storage',
        `${dir} cannot be created in ${parent} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }
}
