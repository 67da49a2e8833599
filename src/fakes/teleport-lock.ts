// a fake `/proto.AuthService/UpsertLock` for the fake auth service (src/fakes/teleport.ts): decodes the
// types.LockV2 with our proto (proto/teleport/legacy/...) and records it in `fake.locks` as a FakeLock.
// failures can be injected with fake.faults.failNextCalls ({ rpc: 'UpsertLock', ... }).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import { projectRoot } from './teleport-dataset.js';
import type { FakeTeleport } from './teleport.js';

export interface FakeLock {
  name: string;
  kind: string;
  version: string;
  user: string;
  message: string;
  /** null when the lock never expires */
  expires: Date | null;
  receivedAt: number;
}

let definition: grpc.ServiceDefinition | undefined;

export function authServiceDefinition(): grpc.ServiceDefinition {
  definition ??= protoLoader.loadSync('teleport/legacy/client/proto/authservice.proto', {
    keepCase: true,
    longs: String,
    defaults: true,
    includeDirs: [join(projectRoot(), 'proto')],
  })['proto.AuthService'] as grpc.ServiceDefinition;
  return definition;
}

interface RawLock {
  Kind: string;
  Version: string;
  Metadata: { Name: string } | null;
  Spec: { Target: { User: string } | null; Message: string; Expires: { seconds: string; nanos: number } | null } | null;
}

/** registers UpsertLock on the fake; returns the fake's lock list, typed */
export function addFakeLockService(fake: FakeTeleport): FakeLock[] {
  fake.addService(authServiceDefinition(), {
    UpsertLock(call: grpc.ServerUnaryCall<RawLock, unknown>, cb: grpc.sendUnaryData<unknown>) {
      const failure = fake.beginCall('UpsertLock', call);
      if (failure) return cb(failure);
      const r = call.request;
      const exp = r.Spec?.Expires;
      fake.locks.push({
        name: r.Metadata?.Name ?? '',
        kind: r.Kind,
        version: r.Version,
        user: r.Spec?.Target?.User ?? '',
        message: r.Spec?.Message ?? '',
        expires: exp ? new Date(Number(exp.seconds) * 1000 + Math.floor(exp.nanos / 1e6)) : null,
        receivedAt: Date.now(),
      } satisfies FakeLock);
      cb(null, {});
    },
  });
  return fake.locks as FakeLock[];
}
