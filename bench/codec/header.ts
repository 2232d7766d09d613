/**
 * Header-only micro-bench: walk the stream packet by packet reading just the 12-byte header
 * (magic, type, size) and skipping the body. Same walk, three readers.
 */
import { Parser } from 'binary-parser';

export interface HeaderWalker {
  readonly name: string;
  /** Walks `buf`, returns the number of headers read; `sink` gets a checksum. */
  walk(buf: Uint8Array, sink: { sum: number }): number;
}

const MAGIC_REQ = 0x00524551;
const MAGIC_RES = 0x00524553;

interface Header {
  magic: number;
  type: number;
  size: number;
}

const headerParser = new Parser().uint32be('magic').uint32be('type').uint32be('size');

const badMagic = (at: number): Error => new Error(`bad magic at ${at}`);

export const binaryParserWalker: HeaderWalker = {
  name: 'binary-parser (compiled Parser)',
  walk(buf, sink) {
    let n = 0;
    let sum = 0;
    const end = buf.length;
    for (let off = 0; off < end; n++) {
      const h = headerParser.parse(buf.subarray(off, off + 12)) as Header;
      if (h.magic !== MAGIC_RES && h.magic !== MAGIC_REQ) throw badMagic(off);
      sum += h.type;
      off += 12 + h.size;
    }
    sink.sum = sum;
    return n;
  },
};

export const shiftWalker: HeaderWalker = {
  name: 'hand-written byte shifts',
  walk(buf, sink) {
    let n = 0;
    let sum = 0;
    const end = buf.length;
    for (let off = 0; off < end; n++) {
      const magic = (buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!;
      if (magic !== MAGIC_RES && magic !== MAGIC_REQ) throw badMagic(off);
      const type = ((buf[off + 4]! << 24) | (buf[off + 5]! << 16) | (buf[off + 6]! << 8) | buf[off + 7]!) >>> 0;
      const size = ((buf[off + 8]! << 24) | (buf[off + 9]! << 16) | (buf[off + 10]! << 8) | buf[off + 11]!) >>> 0;
      sum += type;
      off += 12 + size;
    }
    sink.sum = sum;
    return n;
  },
};

export const dataViewWalker: HeaderWalker = {
  name: 'hand-written DataView',
  walk(buf, sink) {
    let n = 0;
    let sum = 0;
    const end = buf.length;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    for (let off = 0; off < end; n++) {
      const magic = dv.getUint32(off);
      if (magic !== MAGIC_RES && magic !== MAGIC_REQ) throw badMagic(off);
      sum += dv.getUint32(off + 4);
      off += 12 + dv.getUint32(off + 8);
    }
    sink.sum = sum;
    return n;
  },
};

export const headerWalkers: readonly HeaderWalker[] = [binaryParserWalker, shiftWalker, dataViewWalker];
