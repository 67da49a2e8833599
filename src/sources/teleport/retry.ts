// grpc status helpers for retrying the poller's calls (the sleep and backoff are src/sleep.ts, src/backoff.ts).
import { status as GrpcStatus } from '@grpc/grpc-js';

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

/** errors that mean stop, not retry: the spool is closing, or our own stop */
export function isStop(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  const name = (err as { name?: string } | null)?.name;
  return code === 'TDF_SPOOL_CLOSED' || name === 'StoppedError';
}
