/**
 * The raw client's protocol logic, without sockets:
 * SUBMIT_JOB packets pipelined round-robin over the connections, JOB_CREATED matched in order,
 * WORK_COMPLETE by handle. Submits made while a received chunk is handled leave in one write per
 * connection at the end of that chunk; others at the end of the turn.
 */
import { Buffer } from 'node:buffer';
import type { EchoDriver } from '../harness/batch.ts';
import { ERROR, FrameReader, JOB_CREATED, SUBMIT_JOB, WORK_COMPLETE, WORK_FAIL, packet } from './raw-wire.ts';

interface Pending {
  readonly done: (result: Uint8Array) => void;
  readonly fail: (err: Error) => void;
}

interface Link {
  readonly write: (bytes: Buffer) => void;
  readonly reader: FrameReader;
  readonly unconfirmed: Pending[];
  readonly running: Map<string, Pending>;
  out: Buffer[];
}

export interface RawClient extends Omit<EchoDriver, 'close'> {
  /** Bytes received on connection `index`. */
  onData(index: number, chunk: Buffer): void;
}

export function createRawClient(fn: string, writers: readonly ((bytes: Buffer) => void)[]): RawClient {
  let inChunk = false;
  let flushQueued = false;
  let cursor = 0;
  let unique = 0;
  const flushAll = (): void => {
    flushQueued = false;
    for (const link of links) {
      if (link.out.length === 0) continue;
      const out = link.out;
      link.out = [];
      link.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    }
  };
  const onFrame = (link: Link, type: number, body: Buffer): void => {
    switch (type) {
      case JOB_CREATED:
        link.running.set(body.toString('latin1'), link.unconfirmed.shift()!);
        return;
      case WORK_COMPLETE: {
        const a = body.indexOf(0);
        const handle = body.toString('latin1', 0, a);
        const job = link.running.get(handle)!;
        link.running.delete(handle);
        job.done(body.subarray(a + 1));
        return;
      }
      case WORK_FAIL:
        throw new Error(`raw client: WORK_FAIL ${body.toString('latin1')}`);
      case ERROR:
        throw new Error(`raw client: server error ${body.toString('latin1')}`);
    }
  };
  const links: Link[] = writers.map((write) => {
    const link: Link = { write, reader: undefined!, unconfirmed: [], running: new Map(), out: [] };
    (link as { reader: FrameReader }).reader = new FrameReader((type, body) => onFrame(link, type, body));
    return link;
  });
  return {
    submit(payload, done, fail) {
      const link = links[cursor]!;
      cursor = (cursor + 1) % links.length;
      link.out.push(packet(SUBMIT_JOB, [fn, String(++unique), payload]));
      link.unconfirmed.push({ done, fail });
      if (!inChunk && !flushQueued) {
        flushQueued = true;
        queueMicrotask(flushAll);
      }
    },
    onData(index, chunk) {
      inChunk = true;
      links[index]!.reader.push(chunk);
      inChunk = false;
      flushAll();
    },
  };
}
