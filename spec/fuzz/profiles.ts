import type { Magic } from '../../src/protocol/codec/packets.ts';

/** The decoder options a fuzz input is decoded with. Every field is set: the oracle needs them all. */
export interface Limits {
  readonly maxPacketSize: number;
  readonly maxLineLength: number;
  readonly expect: Magic | 'ANY';
}

export interface Profile {
  readonly name: string;
  readonly limits: Limits;
  /** How often the fuzz run picks this profile, relative to the others. */
  readonly weight: number;
}

const KIB = 1024;

/**
 * Small limits, so the run reaches them with small inputs and the memory bound is really tested.
 * Regression files are replayed under every profile, so a failing input needs no side file.
 */
export const PROFILES: readonly Profile[] = [
  { name: 'any-64k', limits: { maxPacketSize: 64 * KIB, maxLineLength: 4 * KIB, expect: 'ANY' }, weight: 40 },
  { name: 'server-64k', limits: { maxPacketSize: 64 * KIB, maxLineLength: 4 * KIB, expect: 'REQ' }, weight: 15 },
  { name: 'worker-64k', limits: { maxPacketSize: 64 * KIB, maxLineLength: 4 * KIB, expect: 'RES' }, weight: 15 },
  { name: 'tight', limits: { maxPacketSize: 40, maxLineLength: 24, expect: 'ANY' }, weight: 25 },
  { name: 'zero', limits: { maxPacketSize: 0, maxLineLength: 0, expect: 'ANY' }, weight: 5 },
];

export function profileNamed(name: string): Profile | undefined {
  return PROFILES.find((profile) => profile.name === name);
}
