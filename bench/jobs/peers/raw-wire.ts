/**
 * The bare minimum of the gearman wire for the raw contender: hand-built REQ packets and a
 * frame splitter. No validation beyond the magic: it is a yardstick, not a library.
 */
import { Buffer } from 'node:buffer';
import { type Socket, connect } from 'node:net';

/** A TCP connection with TCP_NODELAY, once connected. */
export function connectNoDelay(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.once('error', reject);
    socket.once('connect', () => resolve(socket.setNoDelay(true)));
  });
}

export const CAN_DO = 1;
export const PRE_SLEEP = 4;
export const NOOP = 6;
export const SUBMIT_JOB = 7;
export const JOB_CREATED = 8;
export const NO_JOB = 10;
export const WORK_COMPLETE = 13;
export const WORK_FAIL = 14;
export const ERROR = 19;
export const GRAB_JOB_UNIQ = 30;
export const JOB_ASSIGN_UNIQ = 31;

const HEADER = 12;

/** Writes a REQ header at `at`; returns the offset after it. */
export function writeHeader(buf: Buffer, at: number, type: number, size: number): number {
  buf[at] = 0;
  buf[at + 1] = 0x52; // R
  buf[at + 2] = 0x45; // E
  buf[at + 3] = 0x51; // Q
  buf.writeUInt32BE(type, at + 4);
  buf.writeUInt32BE(size, at + 8);
  return at + HEADER;
}

/** One packet; string arguments must be ASCII. */
export function packet(type: number, args: readonly (string | Uint8Array)[] = []): Buffer {
  let size = Math.max(0, args.length - 1);
  for (const a of args) size += a.length;
  const buf = Buffer.allocUnsafe(HEADER + size);
  let at = writeHeader(buf, 0, type, size);
  args.forEach((a, i) => {
    if (typeof a === 'string') at += buf.write(a, at, 'latin1');
    else at += (buf.set(a, at), a.length);
    if (i < args.length - 1) buf[at++] = 0;
  });
  return buf;
}

export const GRAB = packet(GRAB_JOB_UNIQ);
export const SLEEP = packet(PRE_SLEEP);

/** Splits a byte stream into (type, body) frames; a body is a view into the received bytes. */
export class FrameReader {
  private rest: Buffer | undefined;

  constructor(private readonly onFrame: (type: number, body: Buffer) => void) {}

  push(chunk: Buffer): void {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = undefined;
    let at = 0;
    while (buf.length - at >= HEADER) {
      if (buf[at] !== 0 || buf[at + 3] !== 0x53) throw new Error(`raw: bad magic at ${at}`);
      const size = buf.readUInt32BE(at + 8);
      const end = at + HEADER + size;
      if (end > buf.length) break;
      this.onFrame(buf.readUInt32BE(at + 4), buf.subarray(at + HEADER, end));
      at = end;
    }
    if (at < buf.length) this.rest = buf.subarray(at);
  }
}
