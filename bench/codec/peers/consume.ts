/**
 * Decode plus what the worker then does with each packet (src/protocol/worker/worker-link.ts and
 * client-link.ts): the handle, function and unique become strings, the payload stays bytes.
 * This is the cost that matters end to end, and it is where views on demand pay twice: today
 * every leading argument is a subarray view and then `utf8()` (src/protocol/codec/text.ts) wraps it
 * in a second view to call toString.
 */
import type { Buffer } from 'node:buffer';
import { type Packet, Decoder } from '../../../src/protocol/codec/decoder.ts';
import { Type } from '../../../src/protocol/codec/packets.ts';
import { utf8 } from '../../../src/protocol/codec/text.ts';
import { type Tally, emptyTally } from '../workload.ts';
import { FastDecoder, LazyPacket } from './fast.ts';
import type { DecodeContender } from './types.ts';

/** What the worker keeps of a packet; strings are ASCII here, so their lengths are byte counts. */
function keep(t: Tally, type: number, strings: readonly string[], payload: Uint8Array | undefined): void {
  t.packets++;
  t.typeSum += type;
  for (let i = 0; i < strings.length; i++) {
    t.args++;
    t.argBytes += strings[i]!.length;
  }
  if (payload !== undefined) {
    t.args++;
    t.argBytes += payload.length;
  }
}

const noText = (): void => {
  throw new Error('no text lines in this stream');
};

export const oursConsume: DecodeContender = {
  name: 'ours + worker use (utf8 of views)',
  decode(chunks: readonly Buffer[]) {
    const t = emptyTally();
    const packet = (p: Packet): void => {
      const a = p.args;
      if (p.type === Type.JOB_ASSIGN_UNIQ) keep(t, p.type, [utf8(a[0]!), utf8(a[1]!), utf8(a[2]!)], a[3]!);
      else if (p.type === Type.WORK_COMPLETE) keep(t, p.type, [utf8(a[0]!)], a[1]!);
      else keep(t, p.type, [], undefined);
    };
    const d = new Decoder({ packet, text: noText }, { expect: 'RES' });
    for (let i = 0; i < chunks.length; i++) d.push(chunks[i]!);
    return t;
  },
};

export const lazyConsume: DecodeContender = {
  name: 'prototype lazy + worker use (text(i))',
  decode(chunks: readonly Buffer[]) {
    const t = emptyTally();
    const packet = (p: Packet): void => {
      if (!(p instanceof LazyPacket)) return keep(t, p.type, [], undefined);
      if (p.type === Type.JOB_ASSIGN_UNIQ) keep(t, p.type, [p.text(0), p.text(1), p.text(2)], p.arg(3));
      else if (p.type === Type.WORK_COMPLETE) keep(t, p.type, [p.text(0)], p.arg(1));
      else throw new Error(`unexpected type ${p.type}`);
    };
    const d = new FastDecoder({ packet, text: noText }, { expect: 'RES', views: false });
    for (let i = 0; i < chunks.length; i++) d.push(chunks[i]!);
    return t;
  },
};
