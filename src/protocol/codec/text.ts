import { Buffer } from 'node:buffer';

/** Decodes a packet argument (a view) as UTF-8 without copying it first. */
export function utf8(bytes: Uint8Array): string {
  // Socket chunks are Buffers already, and so are their views: skip making another one.
  if (Buffer.isBuffer(bytes)) return bytes.toString('utf8');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
