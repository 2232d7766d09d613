import { Buffer } from 'node:buffer';
import { ProtocolError, type ProtocolErrorCode } from './errors.ts';
import {
  DEFAULT_MAX_LINE_LENGTH,
  DEFAULT_MAX_PACKET_SIZE,
  HEADER_SIZE,
  MAX_TYPE,
  type Magic,
  PACKET_TABLE,
  allowsMagic,
  packetName,
} from './packets.ts';
import { latin1, utf8 } from './text.ts';

/**
 * A decoded binary packet. An argument of up to COPY_LIMIT bytes is a copy of its own; a longer
 * one is a view into the bytes that were pushed, so a large payload is never copied.
 */
export interface Packet {
  readonly magic: Magic;
  readonly type: number;
  readonly args: readonly Uint8Array[];
}

export interface DecoderHandlers {
  packet(packet: Packet): void;
  /** A text (admin protocol) line, without its trailing "\n" or "\r\n". */
  text(line: string): void;
}

export interface DecoderOptions {
  /** Largest packet body accepted, checked from the header before anything is buffered. */
  readonly maxPacketSize?: number;
  /** Longest text line accepted, newline excluded. */
  readonly maxLineLength?: number;
  /** The magic this side receives: 'REQ' on a server, 'RES' on a worker or client. */
  readonly expect?: Magic | 'ANY';
  /**
   * 'strict' (the default) refuses a packet whose type does not travel with its magic, and a
   * body on a packet that takes no arguments. 'gearmand' reads the stream as gearmand's server
   * does: any known type (and the reserved 5) is decoded with either magic, leaving the answer
   * (INVALID_MAGIC, INVALID_COMMAND) to the handler, and such a body is skipped. Framing stays
   * exact either way: the declared size says where the next packet starts.
   */
  readonly framing?: 'strict' | 'gearmand';
  /**
   * How text lines become strings: 'utf8' (the default; invalid bytes become U+FFFD) or
   * 'latin1', one char per byte, so the bytes can be recovered exactly.
   */
  readonly text?: 'utf8' | 'latin1';
}

const NO_ARGS: readonly Uint8Array[] = Object.freeze([]);
const LF = 0x0a;
const CR = 0x0d;
/**
 * Arguments up to this size are copied rather than viewed. The first view into a socket read
 * makes JSC give that read an ArrayBuffer of its own (about 200 ns, then about 60 ns a view),
 * while copying a handle, a function name or a small payload byte by byte costs a few dozen.
 * Measured: 2-3 µs less CPU per job over our worker and client together (bench:jobs).
 */
export const COPY_LIMIT = 256;

function argument(buf: Uint8Array, start: number, end: number): Uint8Array {
  if (end - start > COPY_LIMIT) return buf.subarray(start, end);
  const copy = new Uint8Array(end - start);
  for (let i = start; i < end; i++) copy[i - start] = buf[i]!;
  return copy;
}

const RULE_UNKNOWN = -1;
const RULE_WRONG_MAGIC = -2;
/** gearmand knows type 5 ("UNUSED", no arguments): it answers it rather than closing. */
const RESERVED_TYPE = 5;
const ruleTables = new Map<string, Int8Array>();

/**
 * Per (type, magic): the packet's argument count, or RULE_UNKNOWN / RULE_WRONG_MAGIC.
 * Indexed by type * 2 + (1 for RES); one table per (expected magic, framing), shared by all decoders.
 */
function headerRules(expect: Magic | 'ANY', framing: 'strict' | 'gearmand'): Int8Array {
  const key = `${expect}/${framing}`;
  let rules = ruleTables.get(key);
  if (rules) return rules;
  rules = new Int8Array((MAX_TYPE + 1) * 2).fill(RULE_UNKNOWN);
  for (const spec of PACKET_TABLE) {
    for (const [bit, magic] of [[0, 'REQ'], [1, 'RES']] as const) {
      const allowed = framing === 'gearmand' || (allowsMagic(spec, magic) && (expect === 'ANY' || expect === magic));
      rules[(spec.code << 1) | bit] = allowed ? spec.args.length : RULE_WRONG_MAGIC;
    }
  }
  if (framing === 'gearmand') rules.fill(0, RESERVED_TYPE << 1, (RESERVED_TYPE + 1) << 1);
  ruleTables.set(key, rules);
  return rules;
}

const enum Pending {
  None,
  Binary,
  Text,
}

/**
 * Incremental gearman stream decoder. Chunks may be split anywhere, and one chunk may hold
 * many packets. Bytes are accounted for exactly: `consumed + buffered` is always the number
 * of bytes pushed, until an error, after which the decoder refuses further input.
 *
 * Pushed chunks are owned by the decoder: packet arguments are views into them.
 */
export class Decoder {
  /** Bytes that formed complete packets or lines. */
  consumed = 0;

  private readonly maxPacketSize: number;
  private readonly maxLineLength: number;
  private readonly expect: Magic | 'ANY';
  private readonly skipBody: boolean;
  private readonly decodeText: (bytes: Uint8Array) => string;
  private readonly handlers: DecoderHandlers;

  private pending = Pending.None;
  private spill: Uint8Array[] = [];
  private spillLength = 0;
  /** Total size of the binary packet being assembled; 0 while its header is incomplete. */
  private need = 0;
  private failure: ProtocolError | undefined;
  private inPush = false;
  private readonly rules: Int8Array;
  /** The header readHeader checked last. */
  private type = 0;
  private magic: Magic = 'REQ';
  private argCount = 0;

  constructor(handlers: DecoderHandlers, options: DecoderOptions = {}) {
    this.handlers = handlers;
    this.maxPacketSize = options.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE;
    this.maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    this.expect = options.expect ?? 'ANY';
    const framing = options.framing ?? 'strict';
    this.skipBody = framing === 'gearmand';
    this.decodeText = options.text === 'latin1' ? latin1 : utf8;
    this.rules = headerRules(this.expect, framing);
  }

  /** Bytes held for a packet or line that is not complete yet. */
  get buffered(): number {
    return this.spillLength;
  }

  /** True when the stream stands at a packet boundary. */
  get idle(): boolean {
    return this.spillLength === 0;
  }

  /** Total size (header included) of the binary packet being assembled; 0 while unknown or for a text line. */
  get expected(): number {
    return this.pending === Pending.Binary ? this.need : 0;
  }

  /** Feeds bytes. Throws ProtocolError on malformed input; the decoder is then dead. */
  push(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    if (this.inPush) {
      // A handler threw during the previous push: the rest of that chunk was never decoded.
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
    let off = start;
    while (off < end) {
      if (buf[off] !== 0) {
        const nl = buf.indexOf(LF, off);
        if (nl < 0) {
          this.checkPartialLine(end - off, buf.subarray(off, end));
          this.hold(buf.subarray(off), Pending.Text);
          return;
        }
        this.checkLineLength(nl - off - (nl > off && buf[nl - 1] === CR ? 1 : 0), buf.subarray(off, nl));
        this.emitLine(buf, off, nl);
        this.consumed += nl + 1 - off;
        off = nl + 1;
        continue;
      }
      if (end - off < HEADER_SIZE) {
        this.hold(buf.subarray(off), Pending.Binary);
        return;
      }
      const total = this.readHeader(buf, off);
      if (end - off < total) {
        this.need = total;
        this.hold(buf.subarray(off), Pending.Binary);
        return;
      }
      this.emitPacket(buf, off, off + total);
      this.consumed += total;
      off += total;
    }
  }

  /** Completes a text line held over from earlier chunks. Returns the offset after it, or -1. */
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

  /** Completes a binary packet held over from earlier chunks. Returns the offset after it, or -1. */
  private finishPacket(chunk: Uint8Array): number {
    if (this.need === 0) {
      if (this.spillLength + chunk.length < HEADER_SIZE) {
        this.spill.push(chunk);
        this.spillLength += chunk.length;
        return -1;
      }
      const header = this.joinCopy(chunk, HEADER_SIZE - this.spillLength);
      this.need = this.readHeader(header, 0);
      if (this.need === HEADER_SIZE) {
        const used = HEADER_SIZE - this.spillLength;
        this.emitPacket(header, 0, HEADER_SIZE);
        this.consumed += HEADER_SIZE;
        this.release();
        return used;
      }
    }
    if (this.spillLength + chunk.length < this.need) {
      this.spill.push(chunk);
      this.spillLength += chunk.length;
      return -1;
    }
    const used = this.need - this.spillLength;
    const frame = this.join(chunk, used);
    this.emitPacket(frame, 0, frame.length);
    this.consumed += frame.length;
    this.release();
    return used;
  }

  /**
   * Validates the 12-byte header at `off`, remembers its type, magic and argument count for
   * emitPacket, and returns the packet's total size. One table lookup decides both whether the
   * type exists and whether it may travel with this magic here.
   */
  private readHeader(buf: Uint8Array, off: number): number {
    const last = buf[off + 3];
    if (buf[off + 1] !== 0x52 || buf[off + 2] !== 0x45 || (last !== 0x51 && last !== 0x53)) {
      throw this.headerError('BAD_MAGIC', 'expected \\0REQ or \\0RES', buf, off);
    }
    const type = ((buf[off + 4]! << 24) | (buf[off + 5]! << 16) | (buf[off + 6]! << 8) | buf[off + 7]!) >>> 0;
    const size = ((buf[off + 8]! << 24) | (buf[off + 9]! << 16) | (buf[off + 10]! << 8) | buf[off + 11]!) >>> 0;
    const isResponse = last === 0x53 ? 1 : 0;
    const rule = type <= MAX_TYPE ? this.rules[(type << 1) | isResponse]! : RULE_UNKNOWN;
    if (rule === RULE_UNKNOWN) throw this.headerError('UNKNOWN_TYPE', `unknown packet type ${type}`, buf, off);
    const name = packetName(type);
    if (rule === RULE_WRONG_MAGIC) {
      throw this.headerError('UNEXPECTED_MAGIC', `${name} does not travel as ${isResponse ? 'RES' : 'REQ'} here`, buf, off, type);
    }
    if (size > this.maxPacketSize) {
      throw this.headerError('PACKET_TOO_LARGE', `declared size ${size} exceeds the limit of ${this.maxPacketSize}`, buf, off, type);
    }
    if (size !== 0 && rule === 0 && !this.skipBody) {
      throw this.headerError('UNEXPECTED_BODY', `${name} takes no arguments but carries ${size} bytes`, buf, off, type);
    }
    this.type = type;
    this.magic = isResponse ? 'RES' : 'REQ';
    this.argCount = rule;
    return HEADER_SIZE + size;
  }

  private headerError(code: ProtocolErrorCode, message: string, buf: Uint8Array, off: number, type?: number): ProtocolError {
    return new ProtocolError(code, message, {
      ...(type === undefined ? {} : { type }),
      offset: this.consumed,
      bytes: buf.subarray(off, off + HEADER_SIZE),
    });
  }

  /** Emits the packet whose header readHeader just checked. */
  private emitPacket(buf: Uint8Array, start: number, end: number): void {
    const { type, magic, argCount: count } = this;
    if (count === 0) {
      this.handlers.packet({ magic, type, args: NO_ARGS });
      return;
    }
    const args = new Array<Uint8Array>(count);
    let p = start + HEADER_SIZE;
    for (let i = 0; i < count - 1; i++) {
      // A plain loop: arguments before the last are short (handles, names, uniques), and the
      // native indexOf call costs more than scanning them.
      let nul = p;
      while (nul < end && buf[nul] !== 0) nul++;
      if (nul >= end) {
        throw new ProtocolError(
          'MISSING_ARGUMENT',
          `${packetName(type)} needs ${count} arguments (${count - 1} NUL separators) but has ${i}`,
          { type, offset: this.consumed, bytes: buf.subarray(start, end) },
        );
      }
      args[i] = argument(buf, p, nul);
      p = nul + 1;
    }
    args[count - 1] = argument(buf, p, end);
    this.handlers.packet({ magic, type, args });
  }

  private emitLine(buf: Uint8Array, start: number, nl: number): void {
    const end = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
    this.handlers.text(this.decodeText(buf.subarray(start, end)));
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

  /** One copy: the held bytes plus the first `take` bytes of `chunk`. */
  private join(chunk: Uint8Array, take: number): Uint8Array {
    if (this.spill.length === 1 && take === 0) return this.spill[0]!;
    return this.joinCopy(chunk, take);
  }

  private joinCopy(chunk: Uint8Array, take: number): Uint8Array {
    // Unzeroed: every byte is overwritten below.
    const out = Buffer.allocUnsafeSlow(this.spillLength + take);
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
