/**
 * An event-file reader written from the format specs (bitwise CRC-32C, TFRecord framing, protobuf
 * wire format), independent of the writer, so an encoding bug cannot cancel itself out. Shared by
 * the TensorBoard writer's tests and the study visualisations' tests.
 */
/** CRC-32C one bit at a time (reflected polynomial 0x82F63B78), no table. */
export function bitwiseCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export function bitwiseMasked(data: Uint8Array): number {
  const crc = bitwiseCrc32c(data);
  const rotated = ((crc >>> 15) | (crc << 17)) >>> 0;
  return (rotated + 0xa282ead8) % 2 ** 32;
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Splits a TFRecord stream into payloads, checking both CRCs of every record. */
export function readRecords(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    check(bytes.length - offset >= 16, `truncated record header at ${offset}`);
    const length = Number(view.getBigUint64(offset, true));
    const lengthCrc = view.getUint32(offset + 8, true);
    check(lengthCrc === bitwiseMasked(bytes.subarray(offset, offset + 8)), `bad length CRC at ${offset}`);
    check(offset + 12 + length + 4 <= bytes.length, `truncated record data at ${offset}`);
    const data = bytes.subarray(offset + 12, offset + 12 + length);
    check(view.getUint32(offset + 12 + length, true) === bitwiseMasked(data), `bad data CRC at ${offset}`);
    records.push(data);
    offset += 12 + length + 4;
  }
  return records;
}

type Field =
  | { no: number; wire: 0; int: bigint }
  | { no: number; wire: 1; bytes: Uint8Array }
  | { no: number; wire: 2; bytes: Uint8Array }
  | { no: number; wire: 5; bytes: Uint8Array };

function readVarint(buf: Uint8Array, start: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  let pos = start;
  for (;;) {
    const byte = buf[pos++];
    if (byte === undefined) throw new Error('truncated varint');
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

/** Decodes one message level into its fields, in wire order. */
function decodeMessage(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = readVarint(buf, pos);
    pos = afterKey;
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [int, next] = readVarint(buf, pos);
      fields.push({ no, wire, int });
      pos = next;
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      if (pos + size > buf.length) throw new Error('truncated fixed field');
      fields.push({ no, wire, bytes: buf.subarray(pos, pos + size) });
      pos += size;
    } else if (wire === 2) {
      const [length, next] = readVarint(buf, pos);
      const end = next + Number(length);
      if (end > buf.length) throw new Error('truncated length-delimited field');
      fields.push({ no, wire, bytes: buf.subarray(next, end) });
      pos = end;
    } else {
      throw new Error(`unexpected wire type ${wire}`);
    }
  }
  return fields;
}

const dataView = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

export class Msg {
  readonly fields: Field[];
  constructor(bytes: Uint8Array) {
    this.fields = decodeMessage(bytes);
  }
  all(no: number): Field[] {
    return this.fields.filter((f) => f.no === no);
  }
  has(no: number): boolean {
    return this.all(no).length > 0;
  }
  private single(no: number): Field {
    const found = this.all(no);
    if (found.length !== 1) throw new Error(`field ${no}: expected once, found ${found.length} times`);
    return found[0];
  }
  int(no: number): number {
    if (!this.has(no)) return 0;
    const f = this.single(no);
    if (f.wire !== 0) throw new Error(`field ${no} is not a varint`);
    return Number(BigInt.asIntN(64, f.int));
  }
  double(no: number): number {
    if (!this.has(no)) return 0;
    const f = this.single(no);
    if (f.wire !== 1) throw new Error(`field ${no} is not fixed64`);
    return dataView(f.bytes).getFloat64(0, true);
  }
  float(no: number): number {
    const f = this.single(no);
    if (f.wire !== 5) throw new Error(`field ${no} is not fixed32`);
    return dataView(f.bytes).getFloat32(0, true);
  }
  bytes(no: number): Uint8Array {
    const f = this.single(no);
    if (f.wire !== 2) throw new Error(`field ${no} is not length-delimited`);
    return f.bytes;
  }
  string(no: number): string {
    return this.has(no) ? new TextDecoder().decode(this.bytes(no)) : '';
  }
  message(no: number): Msg {
    return new Msg(this.bytes(no));
  }
  messages(no: number): Msg[] {
    return this.all(no).map((f) => {
      if (f.wire !== 2) throw new Error(`field ${no} is not a message`);
      return new Msg(f.bytes);
    });
  }
  /** Repeated doubles, packed or not (readers must accept both). */
  doubles(no: number): number[] {
    return this.all(no).flatMap((f) => {
      if (f.wire === 1) return [dataView(f.bytes).getFloat64(0, true)];
      if (f.wire !== 2 || f.bytes.length % 8 !== 0) throw new Error(`field ${no} is not doubles`);
      const v = dataView(f.bytes);
      return Array.from({ length: f.bytes.length / 8 }, (_, i) => v.getFloat64(i * 8, true));
    });
  }
}

// Field numbers, from tensorflow event.proto / summary.proto / tensor.proto and the hparams protos.
export const EVENT = { wall_time: 1, step: 2, file_version: 3, summary: 5 };
export const VALUE = { tag: 1, simple_value: 2, image: 4, histo: 5, tensor: 8, metadata: 9 };

export interface ReadEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  values: Msg[];
}

export function parseEvents(bytes: Uint8Array): ReadEvent[] {
  return readRecords(bytes).map((record) => {
    const event = new Msg(record);
    return {
      wallTime: event.double(EVENT.wall_time),
      step: event.int(EVENT.step),
      fileVersion: event.has(EVENT.file_version) ? event.string(EVENT.file_version) : undefined,
      values: event.has(EVENT.summary) ? event.message(EVENT.summary).messages(1) : [],
    };
  });
}

export const tagOf = (value: Msg): string => value.string(VALUE.tag);

export function valuesWithTag(
  events: ReadEvent[],
  tag: string,
): { step: number; wallTime: number; value: Msg }[] {
  return events.flatMap((e) => e.values.filter((v) => tagOf(v) === tag).map((value) => ({ ...e, value })));
}

export const pluginName = (value: Msg): string => value.message(VALUE.metadata).message(1).string(1);

/** google.protobuf.Value -> JS value. */
export function structValue(value: Msg): unknown {
  if (value.has(2)) return value.double(2);
  if (value.has(3)) return value.string(3);
  if (value.has(4)) return value.int(4) === 1;
  throw new Error('unsupported google.protobuf.Value kind');
}
