/**
 * The load, identical for every server: raw-socket workers that echo (WORK_COMPLETE and the
 * next GRAB_JOB_UNIQ in one write, PRE_SLEEP on NO_JOB) and raw-socket clients that keep a
 * fixed number of SUBMIT_JOBs in flight. No library sits between the sockets and the server.
 */
import { Buffer } from 'node:buffer';
import { type Socket, connect } from 'node:net';
import { Decoder, type Packet } from '../../src/protocol/codec/decoder.ts';
import { encodePacketBuffer } from '../../src/protocol/codec/encoder.ts';
import { Type } from '../../src/protocol/codec/packets.ts';

export interface Load {
  /** Client connections and worker connections (as many of each). */
  readonly connections: number;
  /** SUBMIT_JOBs outstanding at once, over all client connections. */
  readonly inFlight: number;
  readonly jobs: number;
  readonly payload: Uint8Array;
}

const GRAB = encodePacketBuffer('REQ', Type.GRAB_JOB_UNIQ, []);
const PRE_SLEEP = encodePacketBuffer('REQ', Type.PRE_SLEEP, []);
let run = 0;

function open(port: number, onPacket: (packet: Packet) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    const decoder = new Decoder({ packet: onPacket, text: () => {} }, { expect: 'RES' });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

async function startWorker(port: number, fn: string): Promise<Socket> {
  let socket: Socket | undefined;
  const onPacket = (packet: Packet): void => {
    switch (packet.type) {
      case Type.JOB_ASSIGN_UNIQ: {
        const [handle, , , data] = packet.args;
        socket!.write(Buffer.concat([encodePacketBuffer('REQ', Type.WORK_COMPLETE, [handle!, data!]), GRAB]));
        return;
      }
      case Type.NO_JOB:
        socket!.write(PRE_SLEEP);
        return;
      case Type.NOOP:
        socket!.write(GRAB);
    }
  };
  socket = await open(port, onPacket);
  socket.write(Buffer.concat([encodePacketBuffer('REQ', Type.CAN_DO, [fn]), GRAB]));
  return socket;
}

/** Runs `load.jobs` echo jobs through the server on `port`; returns jobs per second. */
export async function runLoad(port: number, load: Load): Promise<number> {
  const fn = `bench-echo-${process.pid}-${++run}`;
  const workers = await Promise.all(Array.from({ length: load.connections }, () => startWorker(port, fn)));
  let submitted = 0;
  let completed = 0;
  let started = 0;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  const clients: Socket[] = [];
  const submitNext = (socket: Socket): void => {
    if (submitted >= load.jobs) return;
    submitted++;
    socket.write(encodePacketBuffer('REQ', Type.SUBMIT_JOB, [fn, '', load.payload]));
  };
  for (let i = 0; i < load.connections; i++) {
    let socket: Socket | undefined;
    socket = await open(port, (packet) => {
      if (packet.type === Type.WORK_COMPLETE) {
        if (++completed === load.jobs) finish();
        else submitNext(socket!);
      } else if (packet.type === Type.WORK_FAIL || packet.type === Type.ERROR) {
        throw new Error(`job failed: ${packet.type}`);
      }
    });
    clients.push(socket);
  }
  started = performance.now();
  const perClient = Math.ceil(load.inFlight / load.connections);
  for (const socket of clients) for (let k = 0; k < perClient && submitted < load.inFlight; k++) submitNext(socket);
  await done;
  const seconds = (performance.now() - started) / 1000;
  for (const socket of [...clients, ...workers]) socket.destroy();
  return load.jobs / seconds;
}
