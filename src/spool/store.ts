// the store the spool runs on (abstract-level: classic-level in production, memory-level in tests), and the one
// encoding every read and write of it uses.
import type { Buffer } from 'node:buffer';
import type { AbstractLevel } from 'abstract-level';

export type SpoolDb = AbstractLevel<string | Buffer | Uint8Array, string, string>;

export const UTF8 = { keyEncoding: 'utf8', valueEncoding: 'utf8' } as const;
