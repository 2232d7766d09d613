/**
 * One raw worker connection (node:net, TCP_NODELAY): up to `grabs` GRAB_JOB_UNIQ outstanding;
 * each JOB_ASSIGN_UNIQ is answered with WORK_COMPLETE and the GRABs that top it up again, in one
 * write; PRE_SLEEP once the last GRAB got NO_JOB, one GRAB on NOOP (ours ramps up the same way).
 */
import { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';
import type { Counter } from '../harness/worker-main.ts';
import { CAN_DO, ERROR, FrameReader, GRAB, JOB_ASSIGN_UNIQ, NOOP, NO_JOB, SLEEP, WORK_COMPLETE, connectNoDelay, packet, writeHeader } from './raw-wire.ts';

/** WORK_COMPLETE(handle, data) followed by `grabs` GRAB_JOB_UNIQ, in one buffer. */
function completeAndGrab(handle: Uint8Array, data: Uint8Array, grabs: number): Buffer {
  const size = handle.length + 1 + data.length;
  const out = Buffer.allocUnsafe(12 + size + GRAB.length * grabs);
  let at = writeHeader(out, 0, WORK_COMPLETE, size);
  out.set(handle, at);
  at += handle.length;
  out[at++] = 0;
  out.set(data, at);
  for (at += data.length; grabs-- > 0; at += GRAB.length) out.set(GRAB, at);
  return out;
}

export async function openRawWorkerLink(host: string, port: number, fn: string, counter: Counter, grabs = 1): Promise<Socket> {
  const socket = await connectNoDelay(host, port);
  const write = (bytes: Buffer): boolean => socket.write(bytes);
  let outstanding = 1;
  const reader = new FrameReader((type, body) => {
    switch (type) {
      case JOB_ASSIGN_UNIQ: {
        const a = body.indexOf(0);
        const c = body.indexOf(0, body.indexOf(0, a + 1) + 1);
        counter.jobs++;
        write(completeAndGrab(body.subarray(0, a), body.subarray(c + 1), grabs - --outstanding));
        outstanding = grabs;
        return;
      }
      case NO_JOB:
        if (--outstanding === 0) write(SLEEP);
        return;
      case NOOP:
        outstanding++;
        write(GRAB);
        return;
      case ERROR:
        throw new Error(`raw worker: server error ${body.toString('latin1')}`);
    }
  });
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  socket.write(Buffer.concat([packet(CAN_DO, [fn]), GRAB]));
  return socket;
}
