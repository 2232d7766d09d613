/**
 * When the server writes. A worker with one GRAB in flight idles until its answer arrives, so a
 * GRAB's answer is written as soon as that connection's input is handled; bench:server measured
 * 0.83× gearmand on one connection while it waited for the end of the event-loop turn. Everything
 * else (JOB_CREATED, WORK_COMPLETE fanning in to a client) still waits for the turn's end, so that
 * output for one connection leaves in one write.
 *
 * The moment of a write cannot be seen from another process, so the connection here is a
 * stand-in socket that records its writes; the broker, the decoder and the peer are the server's.
 */
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { expect, test } from 'bun:test';
import { encodePacketBuffer } from '../../../src/protocol/codec/encoder.ts';
import { Type } from '../../../src/protocol/codec/packets.ts';
import { Broker } from '../../../src/protocol/server/broker.ts';
import { resolveOptions } from '../../../src/protocol/server/options.ts';
import { Peer } from '../../../src/protocol/server/peer.ts';
import { handleRequest } from '../../../src/protocol/server/requests.ts';
import { silentLogger } from '../../../src/util/log.ts';

/** Records what the server writes; stands in for node:net's socket. */
class RecordingSocket extends EventEmitter {
  readonly remoteAddress = '127.0.0.1';
  readonly writableLength = 0;
  readonly writes: Buffer[] = [];
  write(bytes: Uint8Array): boolean {
    this.writes.push(Buffer.from(bytes));
    return true;
  }
  setNoDelay(): void {}
  pause(): void {}
  resume(): void {}
  end(): void {}
  destroy(): void {}
}

function connect(broker: Broker, id: number): { peer: Peer; socket: RecordingSocket } {
  const socket = new RecordingSocket();
  const options = resolveOptions({});
  const peer = new Peer(
    socket,
    id,
    { packet: (from, packet) => handleRequest(broker, from, packet), text: () => {}, closed: () => broker.closed(peer) },
    options,
    silentLogger,
  );
  return { peer, socket };
}

const req = (type: number, args: (string | Uint8Array)[]): Buffer => Buffer.from(encodePacketBuffer('REQ', type, args));
const types = (writes: readonly Buffer[]): number[] => {
  const seen: number[] = [];
  for (const bytes of writes) for (let at = 0; at < bytes.length; at += 12 + bytes.readUInt32BE(at + 8)) seen.push(bytes.readUInt32BE(at + 4));
  return seen;
};
const turnEnd = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('a GRAB is answered in the same read (JOB_ASSIGN_UNIQ, then NO_JOB), before the turn ends', async () => {
  const broker = new Broker(resolveOptions({ logger: silentLogger }));
  const worker = connect(broker, 1);
  const client = connect(broker, 2);
  worker.socket.emit('data', req(Type.CAN_DO, ['echo']));
  client.socket.emit('data', req(Type.SUBMIT_JOB, ['echo', 'u1', 'payload']));

  worker.socket.emit('data', req(Type.GRAB_JOB_UNIQ, []));
  expect(types(worker.socket.writes)).toEqual([Type.JOB_ASSIGN_UNIQ]);

  worker.socket.emit('data', Buffer.concat([req(Type.GRAB_JOB_UNIQ, []), req(Type.GRAB_JOB_UNIQ, [])]));
  // Two answers from one read leave in one write.
  expect(worker.socket.writes.length).toBe(2);
  expect(types(worker.socket.writes)).toEqual([Type.JOB_ASSIGN_UNIQ, Type.NO_JOB, Type.NO_JOB]);
  await turnEnd();
  expect(worker.socket.writes.length).toBe(2);
});

test('JOB_CREATED and results wait for the end of the turn, and a client gets them in one write', async () => {
  const broker = new Broker(resolveOptions({ logger: silentLogger }));
  const workers = [connect(broker, 1), connect(broker, 2)];
  const client = connect(broker, 3);
  for (const w of workers) w.socket.emit('data', req(Type.CAN_DO, ['echo']));
  client.socket.emit('data', Buffer.concat([req(Type.SUBMIT_JOB, ['echo', 'u1', 'a']), req(Type.SUBMIT_JOB, ['echo', 'u2', 'b'])]));
  expect(client.socket.writes).toEqual([]);
  await turnEnd();
  expect(types(client.socket.writes)).toEqual([Type.JOB_CREATED, Type.JOB_CREATED]);

  const handles: Buffer[] = [];
  for (const w of workers) {
    w.socket.emit('data', req(Type.GRAB_JOB, []));
    const assign = w.socket.writes.at(-1)!;
    handles.push(assign.subarray(12, assign.indexOf(0, 12)));
  }
  client.socket.writes.length = 0;
  workers.forEach((w, k) => w.socket.emit('data', req(Type.WORK_COMPLETE, [handles[k]!, `result ${k}`])));
  expect(client.socket.writes).toEqual([]);
  await turnEnd();
  expect(client.socket.writes.length).toBe(1);
  expect(types(client.socket.writes)).toEqual([Type.WORK_COMPLETE, Type.WORK_COMPLETE]);
});
