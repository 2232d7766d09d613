import { Buffer } from 'node:buffer';

// Keep a leading BOM: an argument is decoded exactly as sent (invalid UTF-8 becomes U+FFFD).
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });
/** Below this, String.fromCharCode over the bytes is cheaper than wrapping them in a Buffer. */
const CHAR_CODES_LIMIT = 256;

/**
 * Decodes a packet argument as UTF-8. Arguments are Buffers (views of a socket read) or, when
 * short, plain Uint8Array copies: neither is wrapped in another Buffer first.
 */
export function utf8(bytes: Uint8Array): string {
  return Buffer.isBuffer(bytes) ? bytes.toString('utf8') : utf8Decoder.decode(bytes);
}

/** Lossless bytes → string, one char per byte (function names, handles, admin lines). */
export function latin1(bytes: Uint8Array): string {
  if (Buffer.isBuffer(bytes)) return bytes.toString('latin1');
  if (bytes.length <= CHAR_CODES_LIMIT) return String.fromCharCode(...bytes);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}
