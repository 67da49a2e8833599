// the admin api's view of backfill jobs: a json body checked into a request, the manager's answers as json
import { ConfigError } from '../errors.js';
import type { BackfillManager, BackfillRequest } from './manager.js';

const strings = (v: unknown, name: string): string[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new ConfigError(`"${name}" must be a list of event types`);
  return v as string[];
};

/** a POST /backfill body as a request; ConfigError says which field is wrong */
export function requestFrom(body: Record<string, unknown>, now: number): BackfillRequest {
  const { from, to } = body;
  if (typeof from !== 'number' || !Number.isFinite(from))
    throw new ConfigError('"from" must be a time in epoch milliseconds');
  if (typeof to !== 'number' || !Number.isFinite(to))
    throw new ConfigError('"to" must be a time in epoch milliseconds');
  if (!(from < to)) throw new ConfigError('"from" must be before "to"');
  if (to > now) throw new ConfigError('"to" is in the future: events not written yet cannot be backfilled');
  return {
    from,
    to,
    types: strings(body.types, 'types'),
    skipEventTypes: strings(body.skipEventTypes, 'skipEventTypes'),
    sessions: body.sessions === true,
    allowDuplicates: body.allowDuplicates === true,
  };
}

export function backfillApi(m: BackfillManager, now: () => number = Date.now) {
  return {
    list: () => m.list(),
    async submit(body: Record<string, unknown>, planOnly: boolean) {
      const req = requestFrom(body, now());
      if (planOnly) return { plan: await m.plan(req) };
      return await m.submit(req);
    },
    cancel: (id: string) => m.cancel(id),
  };
}
