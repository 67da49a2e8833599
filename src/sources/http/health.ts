// the ingest's readiness check. pure.
import { hostPort } from '../../format.js';

export function ingestCheck(at: { host: string; port: number } | undefined): {
  name: 'ingest';
  ok: boolean;
  detail: string;
} {
  return at
    ? { name: 'ingest', ok: true, detail: `listening on ${hostPort(at.host, at.port)}` }
    : { name: 'ingest', ok: false, detail: 'the ingest is not listening' };
}
