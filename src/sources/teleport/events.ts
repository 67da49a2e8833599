// pure conversions from teleport's EventUnstructured (as proto-loader or decoder.ts decodes it) to our SourceRecord.
import type { SourceRecord } from '../../record.js';
import type { RawEvent, RawStruct, RawTimestamp, RawValue } from './client.js';
import type { WireEvent } from './decoder.js';

export function valueToJs(v: RawValue | null | undefined): unknown {
  if (!v) return null;
  if (v.structValue !== undefined && v.structValue !== null) return structToObject(v.structValue);
  if (v.listValue !== undefined && v.listValue !== null) return (v.listValue.values ?? []).map(valueToJs);
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.numberValue !== undefined) return v.numberValue;
  if (v.boolValue !== undefined) return v.boolValue;
  return null;
}

/** google.protobuf.Struct -> plain object (numbers stay doubles, as protojson gives them) */
export function structToObject(s: RawStruct | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = valueToJs(v);
  return out;
}

export function timestampMs(t: RawTimestamp | null | undefined): number | undefined {
  if (!t) return undefined;
  const ms = Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** the event's time: the proto timestamp, else its `time` field, else `fallback` */
export function eventTimeMs(e: RawEvent, record: Record<string, unknown>, fallback: number): number {
  return timeOr(timestampMs(e.time), record, fallback);
}

function timeOr(t: number | undefined, record: Record<string, unknown>, fallback: number): number {
  if (t !== undefined) return t;
  if (typeof record.time === 'string') {
    const p = Date.parse(record.time);
    if (Number.isFinite(p)) return p;
  }
  return fallback;
}

export function eventType(e: RawEvent | WireEvent, record: Record<string, unknown>): string {
  if (e.type) return e.type;
  return typeof record.event === 'string' ? record.event : '';
}

export interface DecodedEvent {
  type: string;
  id: string;
  index: number;
  time: number;
  record: Record<string, unknown>;
}

export function decodeEvent(e: RawEvent, now: number): DecodedEvent {
  const record = structToObject(e.unstructured);
  return {
    type: eventType(e, record),
    id: e.id,
    index: Number(e.index ?? 0),
    time: eventTimeMs(e, record, now),
    record,
  };
}

/** the same as decodeEvent, from decoder.ts's event (its record is the decoded object, not a copy) */
export function decodeWireEvent(e: WireEvent, now: number): DecodedEvent {
  const record = e.unstructured;
  return { type: eventType(e, record), id: e.id, index: e.index, time: timeOr(e.time, record, now), record };
}

export function toSourceRecord(tag: string, e: DecodedEvent): SourceRecord {
  return { tag, time: e.time, record: e.record };
}

/** the session id a `session.upload` event announces, if it is one */
export function uploadedSessionId(e: DecodedEvent): string | undefined {
  if (e.type !== 'session.upload') return undefined;
  const sid = e.record.sid;
  return typeof sid === 'string' && sid !== '' ? sid : undefined;
}

/** the user of a failed `user.login` event, if it is one */
export function failedLoginUser(e: DecodedEvent): string | undefined {
  if (e.type !== 'user.login' || e.record.success !== false) return undefined;
  const user = e.record.user;
  return typeof user === 'string' && user !== '' ? user : undefined;
}
