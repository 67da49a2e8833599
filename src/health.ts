// one component's health as readiness (/readyz) and /status give it. pure.

/**
 * 'degraded' works but not as it should (a poller that cannot reach teleport) and keeps readiness, so the ingest
 * beside it still takes events; 'failing' fails readiness
 */
export type HealthState = 'ok' | 'degraded' | 'failing';

export interface Check<N extends string = string> {
  name: N;
  /** passes readiness (/readyz): false only for what should take this instance out of a load balancer */
  ok: boolean;
  state: HealthState;
  detail: string;
}

export const pass = <N extends string>(name: N, detail: string): Check<N> => ({ name, ok: true, state: 'ok', detail });
export const degraded = <N extends string>(name: N, detail: string): Check<N> => ({
  name,
  ok: true,
  state: 'degraded',
  detail,
});
export const fail = <N extends string>(name: N, detail: string): Check<N> => ({
  name,
  ok: false,
  state: 'failing',
  detail,
});
