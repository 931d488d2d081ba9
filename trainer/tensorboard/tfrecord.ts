/**
 * TFRecord framing, the container format of event files:
 * `uint64 length (LE) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)`.
 */
import { maskedCrc32c } from './crc32c.js';

const HEADER_BYTES = 12;
const FOOTER_BYTES = 4;

/** Frames one serialized record; the result can be appended to an event file as is. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(HEADER_BYTES + data.length + FOOTER_BYTES);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  // Records are far below 2^32 bytes, but the format reserves a 64-bit length.
  view.setUint32(0, data.length, true);
  view.setUint32(4, Math.floor(data.length / 2 ** 32), true);
  view.setUint32(8, maskedCrc32c(frame.subarray(0, 8)), true);
  frame.set(data, HEADER_BYTES);
  view.setUint32(HEADER_BYTES + data.length, maskedCrc32c(data), true);
  return frame;
}
