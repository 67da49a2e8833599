// a latency histogram by http status code, for the paths that observe once a request. prom-client's observe
// validates and hashes its label object on every call (~0.4 µs in a tight loop, more between requests: 1% of the
// main thread at one connection, profile of 94e5c67); here an observation is an array index, a bucket search and
// three additions. the registry renders it as it renders a prom-client Histogram with labelNames ['code'].
import type { Registry } from 'prom-client';

export interface CodeHistogram {
  /** one observation; status null (no http answer) or outside 100-599 counts under code "none" */
  observe(status: number | null, seconds: number): void;
}

interface Series {
  code: string;
  /** observations per bucket, not cumulative; the last slot is above every bound */
  counts: number[];
  sum: number;
  count: number;
}

/** the status label of a histogram: the http code, or "none" when no answer came */
export function codeLabel(status: number | null): string {
  return status !== null && Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'none';
}

const NONE = 0; // slot of "none": no status is 0

export function codeHistogram(
  registry: Registry,
  o: { name: string; help: string; buckets: readonly number[] },
): CodeHistogram {
  const bounds = [...o.buckets];
  // by status (0: none); the order of first observation is the order of the exposition, as prom-client's
  const bySlot: Array<Series | undefined> = new Array(600);
  const order: Series[] = [];

  function seriesOf(slot: number, status: number | null): Series {
    const s: Series = { code: codeLabel(status), counts: new Array(bounds.length + 1).fill(0), sum: 0, count: 0 };
    bySlot[slot] = s;
    order.push(s);
    return s;
  }

  const metric = {
    name: o.name,
    help: o.help,
    type: 'histogram' as const,
    aggregator: 'sum' as const,
    get() {
      const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
      const bucket = `${o.name}_bucket`;
      for (const s of order) {
        let acc = 0;
        for (let i = 0; i < bounds.length; i++) {
          acc += s.counts[i]!;
          values.push({ labels: { le: bounds[i]!, code: s.code }, value: acc, metricName: bucket });
        }
        values.push({ labels: { le: '+Inf', code: s.code }, value: s.count, metricName: bucket });
        values.push({ labels: { code: s.code }, value: s.sum, metricName: `${o.name}_sum` });
        values.push({ labels: { code: s.code }, value: s.count, metricName: `${o.name}_count` });
      }
      return { name: o.name, help: o.help, type: 'histogram', values, aggregator: 'sum' };
    },
    reset() {
      bySlot.fill(undefined);
      order.length = 0;
    },
  };
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);

  return {
    observe(status, seconds) {
      if (!Number.isFinite(seconds)) return;
      const slot = status !== null && Number.isInteger(status) && status >= 100 && status <= 599 ? status : NONE;
      const s = bySlot[slot] ?? seriesOf(slot, status);
      let i = 0;
      while (i < bounds.length && seconds > bounds[i]!) i++;
      s.counts[i]!++;
      s.sum += seconds;
      s.count++;
    },
  };
}
