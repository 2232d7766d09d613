/** Our codec, driven exactly as the worker drives it. */
import type { Buffer } from 'node:buffer';
import { type Packet, Decoder } from '../../../src/protocol/codec/decoder.ts';
import { encodePacket, encodePacketBuffer } from '../../../src/protocol/codec/encoder.ts';
import { Type } from '../../../src/protocol/codec/packets.ts';
import { type SmallPacket, countPacket, emptyTally } from '../workload.ts';
import type { DecodeContender, EncodeContender } from './types.ts';

const noText = (): void => {
  throw new Error('no text lines in this stream');
};

export const oursDecode: DecodeContender = {
  name: 'ours (Decoder)',
  decode(chunks) {
    const t = emptyTally();
    const d = new Decoder({ packet: (p) => countPacket(t, p.type, p.args), text: noText }, { expect: 'RES' });
    for (let i = 0; i < chunks.length; i++) d.push(chunks[i]!);
    if (!d.idle) throw new Error('ours: stream ended mid-packet');
    return t;
  },
};

/** Decodes once and hands back the packets themselves, for the zero/one-copy assertions. */
export function oursCapture(chunks: readonly Buffer[]): Packet[] {
  const seen: Packet[] = [];
  const d = new Decoder({ packet: (p) => seen.push(p), text: noText }, { expect: 'RES' });
  for (const c of chunks) d.push(c);
  return seen;
}

export function oursEncoders(packets: readonly SmallPacket[]): EncodeContender[] {
  const types = packets.map((p) => p.type);
  const argLists = packets.map((p): (string | Uint8Array)[] =>
    p.data === undefined ? [...p.strings] : [...p.strings, p.data],
  );
  const n = packets.length;
  return [
    {
      name: 'ours (encodePacket)',
      encodeSmall(count) {
        let bytes = 0;
        for (let i = 0, k = 0; i < count; i++, k = k + 1 === n ? 0 : k + 1) {
          const chunks = encodePacket('RES', types[k]!, argLists[k]!);
          for (let j = 0; j < chunks.length; j++) bytes += chunks[j]!.length;
        }
        return bytes;
      },
      encodeLarge(handle, payload, reps) {
        let bytes = 0;
        for (let i = 0; i < reps; i++) {
          const chunks = encodePacket('REQ', Type.WORK_COMPLETE, [handle, payload]);
          if (chunks[chunks.length - 1] !== payload) throw new Error('ours: the payload was copied');
          for (let j = 0; j < chunks.length; j++) bytes += chunks[j]!.length;
        }
        return bytes;
      },
    },
    {
      name: 'ours (encodePacketBuffer)',
      encodeSmall(count) {
        let bytes = 0;
        for (let i = 0, k = 0; i < count; i++, k = k + 1 === n ? 0 : k + 1) {
          bytes += encodePacketBuffer('RES', types[k]!, argLists[k]!).length;
        }
        return bytes;
      },
      encodeLarge(handle, payload, reps) {
        let bytes = 0;
        for (let i = 0; i < reps; i++) bytes += encodePacketBuffer('REQ', Type.WORK_COMPLETE, [handle, payload]).length;
        return bytes;
      },
    },
  ];
}
