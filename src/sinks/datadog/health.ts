// the datadog sink's health as readiness and /status give it: its check and its warnings. pure.
import type { DatadogSinkStatus } from './sink.js';

export function datadogCheck(d: DatadogSinkStatus | undefined): { name: 'datadog'; ok: boolean; detail: string } {
  if (!d) return { name: 'datadog', ok: false, detail: 'the datadog sink has not started' };
  if (d.stalled !== null) return { name: 'datadog', ok: false, detail: `delivery stopped: ${d.stalled}` };
  if (d.authFailing) {
    return {
      name: 'datadog',
      ok: false,
      detail: `datadog refuses the api key${d.lastError?.status ? ` (${d.lastError.status})` : ''}: delivery is held; check the API key and site`,
    };
  }
  return { name: 'datadog', ok: true, detail: 'api key accepted or not yet refused' };
}

export function datadogWarnings(d: DatadogSinkStatus): string[] {
  return d.authFailing
    ? ['Datadog refuses the API key: nothing is delivered (nothing is dropped either) until the key or site is fixed.']
    : [];
}
