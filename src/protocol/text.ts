import { Buffer } from 'node:buffer';

/** Decodes a packet argument (a view) as UTF-8 without copying it first. */
export function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
