/**
 * The raw worker's protocol logic, without the socket:
 * one GRAB_JOB_UNIQ outstanding; each JOB_ASSIGN_UNIQ is answered with WORK_COMPLETE and the
 * next GRAB_JOB_UNIQ in one write; PRE_SLEEP on NO_JOB, GRAB again on NOOP.
 */
import { Buffer } from 'node:buffer';
import type { Counter } from '../harness/worker-main.ts';
import { CAN_DO, ERROR, FrameReader, GRAB, JOB_ASSIGN_UNIQ, NOOP, NO_JOB, SLEEP, WORK_COMPLETE, packet, writeHeader } from './raw-wire.ts';

/** WORK_COMPLETE(handle, data) followed by GRAB_JOB_UNIQ, in one buffer. */
function completeAndGrab(handle: Uint8Array, data: Uint8Array): Buffer {
  const size = handle.length + 1 + data.length;
  const out = Buffer.allocUnsafe(12 + size + GRAB.length);
  let at = writeHeader(out, 0, WORK_COMPLETE, size);
  out.set(handle, at);
  at += handle.length;
  out[at++] = 0;
  out.set(data, at);
  out.set(GRAB, at + data.length);
  return out;
}

export interface RawWorkerSession {
  /** CAN_DO and the first GRAB, to write once connected. */
  readonly hello: Buffer;
  onData(chunk: Buffer): void;
}

export function rawWorkerSession(fn: string, write: (bytes: Buffer) => void, counter: Counter): RawWorkerSession {
  const reader = new FrameReader((type, body) => {
    switch (type) {
      case JOB_ASSIGN_UNIQ: {
        const a = body.indexOf(0);
        const c = body.indexOf(0, body.indexOf(0, a + 1) + 1);
        counter.jobs++;
        write(completeAndGrab(body.subarray(0, a), body.subarray(c + 1)));
        return;
      }
      case NO_JOB:
        write(SLEEP);
        return;
      case NOOP:
        write(GRAB);
        return;
      case ERROR:
        throw new Error(`raw worker: server error ${body.toString('latin1')}`);
    }
  });
  return { hello: Buffer.concat([packet(CAN_DO, [fn]), GRAB]), onData: (chunk) => reader.push(chunk) };
}
