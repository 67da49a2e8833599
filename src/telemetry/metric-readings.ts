// metrics whose value is read from a component's snapshot at scrape time (a collect() callback), so the hot
// paths gain nothing: each area of metrics-areas.ts and metrics-teleport.ts registers its own with these.
import { Counter, Gauge, type Registry } from 'prom-client';

export type Labels = Record<string, string>;
/** one value, or one per label set; undefined: no series (the component has no snapshot yet) */
export type Reading = number | Array<[Labels, number]> | undefined;

export interface Readers {
  /** a counter whose value is read from a snapshot at scrape time */
  counterFrom(name: string, help: string, labelNames: string[], read: () => Reading): void;
  /** a gauge whose value is read from a snapshot at scrape time */
  gaugeFrom(name: string, help: string, labelNames: string[], read: () => Reading): void;
}

export function readersOn(registry: Registry): Readers {
  // a counter whose value is read from a snapshot at scrape time
  const counterFrom = (name: string, help: string, labelNames: string[], read: () => Reading): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Counter<string>) {
        this.reset();
        // reset() leaves a label-less series at 0; no reading means no series
        if (
          !set(read(), (labels, v) => {
            if (v >= 0) this.inc(labels, v);
          }) &&
          labelNames.length === 0
        )
          this.remove();
      },
    });
  };
  const gaugeFrom = (name: string, help: string, labelNames: string[], read: () => Reading): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Gauge<string>) {
        this.reset();
        if (!set(read(), (labels, v) => this.set(labels, v)) && labelNames.length === 0) this.remove();
      },
    });
  };
  return { counterFrom, gaugeFrom };
}

/** false when there was nothing to put */
export function set(reading: Reading, put: (labels: Labels, value: number) => void): boolean {
  if (reading === undefined || reading === null) return false;
  if (typeof reading === 'number') {
    if (!Number.isFinite(reading)) return false;
    put({}, reading);
    return true;
  }
  for (const [labels, value] of reading) if (Number.isFinite(value)) put(labels, value);
  return true;
}
