/**
 * binary-parser: the packet declared as a compiled Parser (magic asserted, type, size, the body
 * as a buffer of `size` bytes), parsed once per whole packet. The chunks are cut into packets
 * by the naive loop's framing, and the body split into arguments by the same indexOf loop, so
 * the difference to the naive loop is the declarative parse.
 */
import { Parser } from 'binary-parser';
import type { DecodeContender } from './types.ts';
import { framer, splitArgs, tallied } from './naive.ts';

const MAGIC_REQ = 0x00524551;
const MAGIC_RES = 0x00524553;

interface Parsed {
  readonly type: number;
  readonly body: Uint8Array;
}

const packetParser = new Parser()
  .uint32be('magic', { assert: (m) => m === MAGIC_RES || m === MAGIC_REQ })
  .uint32be('type')
  .uint32be('size')
  .buffer('body', { length: 'size' });

export const binaryParserDecode: DecodeContender = {
  name: 'binary-parser (compiled Parser)',
  decode: (chunks) =>
    tallied(
      (onPacket) =>
        framer((buf, off, stop) => {
          const { type, body } = packetParser.parse(buf.subarray(off, stop)) as Parsed;
          onPacket(type, splitArgs(body, type, 0, body.length));
        }),
      chunks,
    ),
};
