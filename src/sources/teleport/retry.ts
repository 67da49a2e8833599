// waiting and retrying: abortable sleep, decorrelated-jitter backoff, grpc status helpers.
import { status as GrpcStatus } from '@grpc/grpc-js';

/** resolves after ms, or at once when the signal aborts; true when the full time passed */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** decorrelated jitter (aws architecture blog): each delay is random in [base, 3 x previous], capped */
export class Backoff {
  private prev: number;
  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {
    this.prev = baseMs;
  }
  next(): number {
    const hi = Math.min(this.maxMs, this.prev * 3);
    this.prev = Math.min(this.maxMs, this.baseMs + this.random() * Math.max(0, hi - this.baseMs));
    return this.prev;
  }
  reset(): void {
    this.prev = this.baseMs;
  }
}

export function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export const isUnimplemented = (err: unknown): boolean => grpcCode(err) === GrpcStatus.UNIMPLEMENTED;
export const isNotFound = (err: unknown): boolean => grpcCode(err) === GrpcStatus.NOT_FOUND;
export const isCancelled = (err: unknown): boolean => grpcCode(err) === GrpcStatus.CANCELLED;

/** short text for logs: grpc status name and details, or the message */
export function describeError(err: unknown): string {
  const code = grpcCode(err);
  if (code !== undefined) {
    const name = (GrpcStatus as unknown as Record<number, string>)[code] ?? String(code);
    const details = (err as { details?: string }).details ?? (err as Error).message;
    return `${name}: ${details}`;
  }
  return err instanceof Error ? err.message : String(err);
}
