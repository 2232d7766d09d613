/**
 * Well-formed traffic made with the encoder: random packets of every type with plausible
 * arguments, and admin text lines. Seeds for mutation, and clean inputs in their own right.
 */
import { type Arg, encodePacketBuffer, encodeTextLine } from '../../src/protocol/codec/encoder.ts';
import { type Magic, PACKET_TABLE, type PacketSpec, allowsMagic } from '../../src/protocol/codec/packets.ts';
import { concat } from './mutators.ts';
import type { Prng } from './prng.ts';

const FUNCTIONS = ['reverse', 'image-build:ubuntu-jammy', 'image-upload:42', 'f', 'ñandú/ß', ''] as const;
const COMMANDS = ['status', 'workers', 'version', 'getpid', 'maxqueue reverse 5', 'show jobs', 'cancel job H:x:1'] as const;
const REPLIES = ['OK', '.', 'ERR UNKNOWN_COMMAND Unknown+server+command', 'reverse\t1\t0\t2', '1.1.20', ''] as const;
const MAGICS: readonly Magic[] = ['REQ', 'RES'];

/** Some bytes: usually short, sometimes empty, often holding NULs (for a last argument). */
function payload(prng: Prng, allowNul: boolean): Uint8Array {
  const bytes = prng.bytes(prng.size(24, 200));
  if (!allowNul) {
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0) bytes[i] = 0x30;
  } else if (prng.chance(0.3) && bytes.length > 0) {
    bytes[prng.below(bytes.length)] = 0;
  }
  return bytes;
}

function argument(prng: Prng, name: string, last: boolean): Arg {
  switch (name) {
    case 'handle':
      return `H:builder-${prng.below(4)}:${prng.below(100_000)}`;
    case 'function':
    case 'reducer':
      return prng.pick(FUNCTIONS);
    case 'unique':
      return prng.chance(0.3) ? '' : `${prng.next().toString(16)}-${prng.below(1000)}`;
    case 'data':
    case 'text':
      return payload(prng, last);
    default:
      // Numbers, codes, options and ids travel as ASCII text.
      return prng.chance(0.8) ? String(prng.below(100_000)) : prng.pick(['', 'exceptions', 'ERR_X', '∞']);
  }
}

export function randomArgs(prng: Prng, spec: PacketSpec): Arg[] {
  return spec.args.map((name, i) => argument(prng, name, i === spec.args.length - 1));
}

/** One encoded packet of a random type, with a magic that type may travel with. */
export function randomPacket(prng: Prng): Uint8Array {
  const spec: PacketSpec = prng.pick(PACKET_TABLE);
  const magics = MAGICS.filter((magic) => allowsMagic(spec, magic));
  return encodePacketBuffer(prng.pick(magics), spec.code, randomArgs(prng, spec));
}

export function randomTextLine(prng: Prng): Uint8Array {
  const line = prng.chance(0.5) ? prng.pick(COMMANDS) : prng.pick(REPLIES);
  return prng.chance(0.5) ? encodeTextLine(line) : new TextEncoder().encode(`${line}\n`);
}

/** `count` packets and lines, mostly packets, back to back. */
export function validStream(prng: Prng, count: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) parts.push(prng.chance(0.85) ? randomPacket(prng) : randomTextLine(prng));
  return concat(...parts);
}
