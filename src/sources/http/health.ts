// the ingest's readiness check. pure.
import { hostPort } from '../../format.js';
import { fail, pass, type Check } from '../../health.js';

export function ingestCheck(at: { host: string; port: number } | undefined): Check<'ingest'> {
  return at
    ? pass('ingest', `listening on ${hostPort(at.host, at.port)}`)
    : fail('ingest', 'the ingest is not listening');
}
