/**
 * CRC-32C (Castagnoli), the checksum TFRecord framing uses, plus TensorFlow's masking. Table-driven
 * because every record is checksummed twice and a training run writes thousands of records.
 */

// Reflected form of the Castagnoli polynomial 0x1EDC6F41.
const POLYNOMIAL = 0x82f63b78;

const TABLE = ((): Uint32Array => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** CRC-32C of `data`; pass a previous result as `crc` to continue over a following chunk. */
export function crc32c(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * TensorFlow stores masked CRCs so that a CRC computed over data that itself embeds CRCs stays
 * well distributed: rotate right by 15 bits and add a constant, modulo 2^32.
 */
export function maskCrc32c(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

export const maskedCrc32c = (data: Uint8Array): number => maskCrc32c(crc32c(data));
