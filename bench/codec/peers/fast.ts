/**
 * PROTOTYPE, bench only: a drop-in variant of src/protocol/codec/decoder.ts (same handlers, options,
 * Packet shape, checks and error codes; text lines handled exactly as src does) reworked for the
 * hot path, to measure what the changes below are worth. It is not used by the worker. It exports
 * `Decoder` so `bun run spec/fuzz/robustness.ts --decoder bench/codec/peers/fast.ts` can fuzz it.
 *
 * Changes against src/protocol/codec/decoder.ts:
 *  1. The header is read once. `readHeader` and `emitPacket` each decoded the type and looked
 *     the spec up again; here one pass validates and emits.
 *  2. Validation is integer arithmetic on a per-decoder 256-entry rule table (argument count +
 *     which magics may carry the type, with `expect` folded in), instead of `packetSpec()`, the
 *     `expect` string compare and `allowsMagic()`'s string compares per packet.
 *  3. Short leading arguments are split with an inline byte loop bounded by the packet end,
 *     rather than a native `indexOf` call per argument (the call costs more than the scan for
 *     20-40 byte handles, and indexOf scans past the packet on a missing NUL).
 *  4. `consumed` is written once per chunk; offsets in errors are computed from it.
 *  5. A packet spanning chunks is joined into Buffer.allocUnsafeSlow, not `new Uint8Array`,
 *     which zero-fills the whole packet before the copy overwrites it.
 * With `views: false` (the second prototype row) it hands out LazyPacket: boundaries, and a
 * view only when one is asked for.
 * Error classification (which code) runs only once a check has failed.
 */
import { Buffer } from 'node:buffer';
import type { DecoderHandlers, DecoderOptions, Packet } from '../../../src/protocol/codec/decoder.ts';
import { ProtocolError } from '../../../src/protocol/codec/errors.ts';
import {
  DEFAULT_MAX_LINE_LENGTH,
  DEFAULT_MAX_PACKET_SIZE,
  HEADER_SIZE,
  type Magic,
  PACKET_TABLE,
  allowsMagic,
  packetSpec,
} from '../../../src/protocol/codec/packets.ts';
import { type Tally, emptyTally } from '../workload.ts';
import type { DecodeContender } from './types.ts';

const NO_ARGS: readonly Uint8Array[] = Object.freeze([]);
const LF = 0x0a;
const CR = 0x0d;
const REQ_BIT = 0x10;
const RES_BIT = 0x20;
const ARGC_MASK = 0x0f;
// As src: keep a leading BOM; a text line is reported exactly as sent.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** rule = argument count | REQ_BIT if REQ may carry it | RES_BIT if RES may. 0: never valid. */
function rules(expect: Magic | 'ANY'): Uint8Array {
  const table = new Uint8Array(256);
  for (const row of PACKET_TABLE) {
    let rule = row.args.length;
    if (expect !== 'RES' && allowsMagic(row, 'REQ')) rule |= REQ_BIT;
    if (expect !== 'REQ' && allowsMagic(row, 'RES')) rule |= RES_BIT;
    table[row.code] = rule;
  }
  return table;
}

const enum Pending {
  None,
  Binary,
  Text,
}

/**
 * A packet whose arguments are cut on demand: it holds the frame and the argument boundaries,
 * and makes a view only when `args` or `arg(i)` is read. `text(i)` decodes straight from the
 * frame without a view (Buffer chunks, as sockets deliver).
 */
export class LazyPacket implements Packet {
  private views: Uint8Array[] | undefined;

  constructor(
    readonly magic: Magic,
    readonly type: number,
    private readonly frame: Uint8Array,
    /** Start of each argument, then the end of the packet. */
    readonly bounds: readonly number[],
  ) {}

  get count(): number {
    return this.bounds.length - 1;
  }

  /** Length of argument i, without making a view. */
  length(i: number): number {
    const b = this.bounds;
    return i + 2 < b.length ? b[i + 1]! - 1 - b[i]! : b[i + 1]! - b[i]!;
  }

  arg(i: number): Uint8Array {
    return this.frame.subarray(this.bounds[i]!, this.bounds[i]! + this.length(i));
  }

  /** Argument i as UTF-8 text, decoded straight from the frame: no view is made for it. */
  text(i: number): string {
    const f = this.frame;
    const b = f instanceof Buffer ? f : Buffer.from(f.buffer, f.byteOffset, f.length);
    return b.toString('utf8', this.bounds[i]!, this.bounds[i]! + this.length(i));
  }

  get args(): readonly Uint8Array[] {
    if (this.views === undefined) this.views = Array.from({ length: this.count }, (_, i) => this.arg(i));
    return this.views;
  }
}

export class FastDecoder {
  consumed = 0;

  private readonly maxPacketSize: number;
  private readonly maxLineLength: number;
  private readonly expect: Magic | 'ANY';
  private readonly handlers: DecoderHandlers;
  private readonly rules: Uint8Array;

  private pending = Pending.None;
  private spill: Uint8Array[] = [];
  private spillLength = 0;
  private need = 0;
  private failure: ProtocolError | undefined;
  private inPush = false;

  /** false: hand out LazyPacket (boundaries, views on demand) instead of eager views. */
  private readonly views: boolean;

  constructor(handlers: DecoderHandlers, options: DecoderOptions & { readonly views?: boolean } = {}) {
    this.handlers = handlers;
    this.maxPacketSize = options.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE;
    this.maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    this.expect = options.expect ?? 'ANY';
    this.rules = rules(this.expect);
    this.views = options.views ?? true;
  }

  get buffered(): number {
    return this.spillLength;
  }

  get idle(): boolean {
    return this.spillLength === 0;
  }

  push(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    if (this.inPush) {
      this.failure = new ProtocolError('DECODER_FAILED', 'a packet handler threw; the stream position is lost', {
        offset: this.consumed,
      });
      throw this.failure;
    }
    this.inPush = true;
    try {
      let offset = 0;
      if (this.pending !== Pending.None) {
        offset = this.pending === Pending.Text ? this.finishLine(chunk) : this.finishPacket(chunk);
        if (offset < 0) {
          this.inPush = false;
          return;
        }
      }
      this.parse(chunk, offset);
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.failure = err;
        this.inPush = false;
      }
      throw err;
    }
    this.inPush = false;
  }

  private parse(buf: Uint8Array, start: number): void {
    const end = buf.length;
    const rules = this.rules;
    const handlers = this.handlers;
    const max = this.maxPacketSize;
    let off = start;
    // `consumed` as it will be at `off`: written back before anything can observe it.
    const base = this.consumed - start;
    while (off < end) {
      if (buf[off] !== 0) {
        this.consumed = base + off;
        off = this.textLine(buf, off);
        if (off < 0) return;
        continue;
      }
      if (end - off < HEADER_SIZE) break;
      const m3 = buf[off + 3]!;
      const magicBit = m3 === 0x51 ? REQ_BIT : m3 === 0x53 ? RES_BIT : 0;
      const type = buf[off + 7]!;
      const rule = (buf[off + 4]! | buf[off + 5]! | buf[off + 6]!) === 0 ? rules[type]! : 0;
      const size = ((buf[off + 8]! << 24) | (buf[off + 9]! << 16) | (buf[off + 10]! << 8) | buf[off + 11]!) >>> 0;
      const argc = rule & ARGC_MASK;
      if ((rule & magicBit) === 0 || buf[off + 1] !== 0x52 || buf[off + 2] !== 0x45 || size > max || (argc === 0 && size !== 0)) {
        this.consumed = base + off;
        throw this.headerError(buf, off);
      }
      const stop = off + HEADER_SIZE + size;
      if (stop > end) break;
      const magic: Magic = magicBit === REQ_BIT ? 'REQ' : 'RES';
      if (argc === 0) {
        handlers.packet({ magic, type, args: NO_ARGS });
        off = stop;
        continue;
      }
      if (this.views) {
        const args = new Array<Uint8Array>(argc);
        let p = off + HEADER_SIZE;
        for (let i = 0; i < argc - 1; i++) {
          let q = p;
          while (q < stop && buf[q] !== 0) q++;
          if (q === stop) {
            this.consumed = base + off;
            throw this.missingArgument(buf, off, stop, type, i);
          }
          args[i] = buf.subarray(p, q);
          p = q + 1;
        }
        args[argc - 1] = buf.subarray(p, stop);
        handlers.packet({ magic, type, args });
      } else {
        // Boundaries only: bounds[i] is where argument i starts, bounds[argc] the packet end.
        const bounds = new Array<number>(argc + 1);
        let p = off + HEADER_SIZE;
        bounds[0] = p;
        for (let i = 0; i < argc - 1; i++) {
          let q = p;
          while (q < stop && buf[q] !== 0) q++;
          if (q === stop) {
            this.consumed = base + off;
            throw this.missingArgument(buf, off, stop, type, i);
          }
          p = q + 1;
          bounds[i + 1] = p;
        }
        bounds[argc] = stop;
        handlers.packet(new LazyPacket(magic, type, buf, bounds));
      }
      off = stop;
    }
    this.consumed = base + off;
    if (off < end) {
      if (end - off >= HEADER_SIZE) {
        this.need = HEADER_SIZE + (((buf[off + 8]! << 24) | (buf[off + 9]! << 16) | (buf[off + 10]! << 8) | buf[off + 11]!) >>> 0);
      }
      this.hold(buf.subarray(off), Pending.Binary);
    }
  }

  /** A text line starting at `off`. Returns the offset after it, or -1 if it was held. */
  private textLine(buf: Uint8Array, off: number): number {
    const end = buf.length;
    const nl = buf.indexOf(LF, off);
    if (nl < 0) {
      this.checkPartialLine(end - off, buf.subarray(off, end));
      this.hold(buf.subarray(off), Pending.Text);
      return -1;
    }
    this.checkLineLength(nl - off - (nl > off && buf[nl - 1] === CR ? 1 : 0), buf.subarray(off, nl));
    this.emitLine(buf, off, nl);
    this.consumed += nl + 1 - off;
    return nl + 1;
  }

  /** Classifies a header that failed the fast check (the same codes, in the same order, as src). */
  private headerError(buf: Uint8Array, off: number): ProtocolError {
    const bytes = buf.subarray(off, off + HEADER_SIZE);
    const offset = this.consumed;
    const last = buf[off + 3];
    if (buf[off + 1] !== 0x52 || buf[off + 2] !== 0x45 || (last !== 0x51 && last !== 0x53)) {
      return new ProtocolError('BAD_MAGIC', 'expected \\0REQ or \\0RES', { offset, bytes });
    }
    const type = ((buf[off + 4]! << 24) | (buf[off + 5]! << 16) | (buf[off + 6]! << 8) | buf[off + 7]!) >>> 0;
    const size = ((buf[off + 8]! << 24) | (buf[off + 9]! << 16) | (buf[off + 10]! << 8) | buf[off + 11]!) >>> 0;
    const spec = packetSpec(type);
    if (spec === undefined) return new ProtocolError('UNKNOWN_TYPE', `unknown packet type ${type}`, { offset, bytes });
    const magic: Magic = last === 0x51 ? 'REQ' : 'RES';
    if ((this.expect !== 'ANY' && magic !== this.expect) || !allowsMagic(spec, magic)) {
      return new ProtocolError('UNEXPECTED_MAGIC', `${spec.name} does not travel as ${magic} here`, { type, offset, bytes });
    }
    if (size > this.maxPacketSize) {
      return new ProtocolError('PACKET_TOO_LARGE', `declared size ${size} exceeds the limit of ${this.maxPacketSize}`, {
        type,
        offset,
        bytes,
      });
    }
    return new ProtocolError('UNEXPECTED_BODY', `${spec.name} takes no arguments but carries ${size} bytes`, {
      type,
      offset,
      bytes,
    });
  }

  private missingArgument(buf: Uint8Array, start: number, end: number, type: number, found: number): ProtocolError {
    const spec = packetSpec(type)!;
    const count = spec.args.length;
    return new ProtocolError(
      'MISSING_ARGUMENT',
      `${spec.name} needs ${count} arguments (${count - 1} NUL separators) but has ${found}`,
      { type, offset: this.consumed, bytes: buf.subarray(start, end) },
    );
  }

  private finishLine(chunk: Uint8Array): number {
    const nl = chunk.indexOf(LF);
    if (nl < 0) {
      this.checkPartialLine(this.spillLength + chunk.length, this.spill[0]!);
      this.spill.push(chunk);
      this.spillLength += chunk.length;
      return -1;
    }
    const line = this.join(chunk, nl);
    this.checkLineLength(line.length - (line.length > 0 && line[line.length - 1] === CR ? 1 : 0), line);
    this.emitLine(line, 0, line.length);
    this.consumed += line.length + 1;
    this.release();
    return nl + 1;
  }

  /** Completes a held binary packet: at most one copy (the join), then the normal path. */
  private finishPacket(chunk: Uint8Array): number {
    if (this.need === 0) {
      if (this.spillLength + chunk.length < HEADER_SIZE) {
        this.spill.push(chunk);
        this.spillLength += chunk.length;
        return -1;
      }
      const head = this.joinCopy(chunk, HEADER_SIZE - this.spillLength);
      this.need = HEADER_SIZE + (((head[8]! << 24) | (head[9]! << 16) | (head[10]! << 8) | head[11]!) >>> 0);
      // Validate now, before waiting for (and buffering) a body of a declared size.
      this.checkHeader(head);
    }
    // (need !== 0 otherwise: parse() validated the header before holding the short body.)
    if (this.spillLength + chunk.length < this.need) {
      this.spill.push(chunk);
      this.spillLength += chunk.length;
      return -1;
    }
    const used = this.need - this.spillLength;
    const frame = this.join(chunk, used);
    this.release();
    this.parse(frame, 0);
    return used;
  }

  private checkHeader(head: Uint8Array): void {
    const m3 = head[3]!;
    const magicBit = m3 === 0x51 ? REQ_BIT : m3 === 0x53 ? RES_BIT : 0;
    const rule = (head[4]! | head[5]! | head[6]!) === 0 ? this.rules[head[7]!]! : 0;
    const size = this.need - HEADER_SIZE;
    if (
      (rule & magicBit) === 0 ||
      head[1] !== 0x52 ||
      head[2] !== 0x45 ||
      size > this.maxPacketSize ||
      ((rule & ARGC_MASK) === 0 && size !== 0)
    ) {
      throw this.headerError(head, 0);
    }
  }

  private emitLine(buf: Uint8Array, start: number, nl: number): void {
    const end = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
    this.handlers.text(utf8.decode(buf.subarray(start, end)));
  }

  /** A line still waiting for its "\n" may hold one byte more: the "\r" of a "\r\n". */
  private checkPartialLine(length: number, head: Uint8Array): void {
    this.checkLineLength(length - 1, head);
  }

  private checkLineLength(length: number, head: Uint8Array): void {
    if (length > this.maxLineLength) {
      throw new ProtocolError('LINE_TOO_LONG', `text line longer than ${this.maxLineLength} bytes`, {
        offset: this.consumed,
        bytes: head,
      });
    }
  }

  private hold(tail: Uint8Array, kind: Pending): void {
    this.pending = kind;
    this.spill.push(tail);
    this.spillLength = tail.length;
  }

  private join(chunk: Uint8Array, take: number): Uint8Array {
    if (this.spill.length === 1 && take === 0) return this.spill[0]!;
    return this.joinCopy(chunk, take);
  }

  private joinCopy(chunk: Uint8Array, take: number): Uint8Array {
    // Change 5: no zero-fill (every byte is written just below) and memory from the allocator's
    // free lists rather than fresh zeroed pages; never pooled, so the join owns its ArrayBuffer.
    const out: Uint8Array = Buffer.allocUnsafeSlow(this.spillLength + take);
    let at = 0;
    for (const part of this.spill) {
      out.set(part, at);
      at += part.length;
    }
    out.set(chunk.subarray(0, take), at);
    return out;
  }

  private release(): void {
    this.pending = Pending.None;
    this.spill = [];
    this.spillLength = 0;
    this.need = 0;
  }
}

function tallying(t: Tally): (p: Packet) => void {
  return (p) => {
    t.packets++;
    t.typeSum += p.type;
    const args = p.args;
    t.args += args.length;
    for (let i = 0; i < args.length; i++) t.argBytes += args[i]!.length;
  };
}

/** Reads the boundaries a LazyPacket carries; no view is made. */
function tallyingBounds(t: Tally): (p: Packet) => void {
  return (p) => {
    t.packets++;
    t.typeSum += p.type;
    if (!(p instanceof LazyPacket)) return; // argument-less packets come as plain objects
    const n = p.count;
    t.args += n;
    for (let i = 0; i < n; i++) t.argBytes += p.length(i);
  };
}

function decodeWith(t: Tally, chunks: readonly Buffer[], views: boolean): Tally {
  const d = new FastDecoder(
    {
      packet: views ? tallying(t) : tallyingBounds(t),
      text: () => {
        throw new Error('no text lines in this stream');
      },
    },
    { expect: 'RES', views },
  );
  for (let i = 0; i < chunks.length; i++) d.push(chunks[i]!);
  if (!d.idle) throw new Error('prototype: stream ended mid-packet');
  return t;
}

export const fastDecode: DecodeContender = {
  name: 'prototype (fast.ts)',
  decode: (chunks) => decodeWith(emptyTally(), chunks, true),
};

export const lazyDecode: DecodeContender = {
  name: 'prototype, views on demand',
  decode: (chunks) => decodeWith(emptyTally(), chunks, false),
};

/** For spec/fuzz/robustness.ts --decoder: the prototype under the name the loader looks for. */
export { FastDecoder as Decoder };
