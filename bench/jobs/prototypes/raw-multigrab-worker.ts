/**
 * The raw worker (peers/raw-worker.ts) with several GRAB_JOB_UNIQ outstanding per connection
 * (`grabs` in the arguments; by default 16 slots shared over the N connections, 16/N each). It
 * answers each JOB_ASSIGN_UNIQ with WORK_COMPLETE + a new GRAB, and all packets produced while
 * handling one received chunk leave in one write. PRE_SLEEP only once every GRAB on the
 * connection came back NO_JOB; a NOOP re-arms all of them.
 */
import { Buffer } from 'node:buffer';
import { connect } from 'node:net';
import { type Counter, workerMain } from '../harness/worker-main.ts';
import { CAN_DO, ERROR, FrameReader, GRAB, JOB_ASSIGN_UNIQ, NOOP, NO_JOB, SLEEP, WORK_COMPLETE, packet, writeHeader } from '../peers/raw-wire.ts';

const SLOTS = 16;

function complete(handle: Uint8Array, data: Uint8Array): Buffer {
  const size = handle.length + 1 + data.length;
  const out = Buffer.allocUnsafe(12 + size);
  const at = writeHeader(out, 0, WORK_COMPLETE, size);
  out.set(handle, at);
  out[at + handle.length] = 0;
  out.set(data, at + handle.length + 1);
  return out;
}

function openLink(host: string, port: number, fn: string, grabs: number, counter: Counter): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let outstanding = 0;
    let out: Buffer[] = [];
    const grabAll = (): void => {
      while (outstanding < grabs) {
        out.push(GRAB);
        outstanding++;
      }
    };
    const reader = new FrameReader((type, body) => {
      switch (type) {
        case JOB_ASSIGN_UNIQ: {
          const a = body.indexOf(0);
          const c = body.indexOf(0, body.indexOf(0, a + 1) + 1);
          counter.jobs++;
          out.push(complete(body.subarray(0, a), body.subarray(c + 1)), GRAB);
          return;
        }
        case NO_JOB:
          if (--outstanding === 0) out.push(SLEEP);
          return;
        case NOOP:
          grabAll();
          return;
        case ERROR:
          throw new Error(`raw worker: server error ${body.toString('latin1')}`);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      if (out.length === 0) return;
      socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
      out = [];
    });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.setNoDelay(true);
      out.push(packet(CAN_DO, [fn]));
      grabAll();
      socket.write(Buffer.concat(out));
      out = [];
      resolve();
    });
  });
}

await workerMain(async (args, counter) => {
  const grabs = (args as { grabs?: number }).grabs ?? Math.max(1, Math.floor(SLOTS / args.conns));
  await Promise.all(Array.from({ length: args.conns }, () => openLink(args.host, args.port, args.fn, grabs, counter)));
});
