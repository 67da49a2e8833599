// the datadog sink's health as readiness and /status give it: its check and its warnings. pure.
import { fail, pass, type Check } from '../../health.js';
import type { DatadogSinkStatus } from './sink.js';

export function datadogCheck(d: DatadogSinkStatus | undefined): Check<'datadog'> {
  if (!d) return fail('datadog', 'the datadog sink has not started');
  if (d.stalled !== null) return fail('datadog', `delivery stopped: ${d.stalled}`);
  if (d.authFailing) {
    return fail(
      'datadog',
      `datadog refuses the api key${d.lastError?.status ? ` (${d.lastError.status})` : ''}: delivery is held; check the API key and site`,
    );
  }
  return pass('datadog', 'api key accepted or not yet refused');
}

export function datadogWarnings(d: DatadogSinkStatus): string[] {
  return d.authFailing
    ? ['Datadog refuses the API key: nothing is delivered (nothing is dropped either) until the key or site is fixed.']
    : [];
}
