/**
 * The job payloads: distinct per run and per job, 40 ASCII bytes, so an echo of the wrong job
 * or of a stale one from an earlier run is caught. perl-client.pl builds the same strings.
 */
import { Buffer } from 'node:buffer';

export const PAYLOAD_LENGTH = 40;

export function payloadText(runId: number, index: number): string {
  return `echo:${runId}:${index}:`.padEnd(PAYLOAD_LENGTH, 'x');
}

export function payload(runId: number, index: number): Buffer {
  return Buffer.from(payloadText(runId, index), 'latin1');
}

/** True when `got` is exactly the payload of job `index`. */
export function isEcho(got: Uint8Array, expected: Buffer): boolean {
  return got.length === expected.length && expected.equals(got);
}
