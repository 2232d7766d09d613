/**
 * The load, identical for every server: bench/jobs' raw contender in this process (hand-built
 * packets, no library between the sockets and the server): echo workers, and clients that keep
 * a fixed number of SUBMIT_JOBs in flight.
 */
import { Buffer } from 'node:buffer';
import { createRawClient } from '../jobs/peers/raw-client-core.ts';
import { openRawWorkerLink } from '../jobs/peers/raw-worker-link.ts';
import { connectNoDelay } from '../jobs/peers/raw-wire.ts';

export interface Load {
  /** Client connections and worker connections (as many of each). */
  readonly connections: number;
  /** SUBMIT_JOBs outstanding at once, over all client connections. */
  readonly inFlight: number;
  readonly jobs: number;
  readonly payload: Uint8Array;
}

let run = 0;

/** Runs `load.jobs` echo jobs through the server on `port`; returns jobs per second. */
export async function runLoad(port: number, load: Load): Promise<number> {
  const fn = `bench-echo-${process.pid}-${++run}`;
  const counter = { jobs: 0 };
  const workers = await Promise.all(Array.from({ length: load.connections }, () => openRawWorkerLink('127.0.0.1', port, fn, counter)));
  const clients = await Promise.all(Array.from({ length: load.connections }, () => connectNoDelay('127.0.0.1', port)));
  const client = createRawClient(fn, clients.map((socket) => (bytes: Buffer) => socket.write(bytes)));
  clients.forEach((socket, index) => socket.on('data', (chunk: Buffer) => client.onData(index, chunk)));
  const payload = Buffer.from(load.payload);
  let submitted = 0;
  let completed = 0;
  const { promise: done, resolve: finish, reject: fail } = Promise.withResolvers<void>();
  const submitNext = (): void => {
    if (submitted >= load.jobs) return;
    submitted++;
    client.submit(payload, () => (++completed === load.jobs ? finish() : submitNext()), fail);
  };
  const started = performance.now();
  for (let k = 0; k < load.inFlight; k++) submitNext();
  await done;
  const seconds = (performance.now() - started) / 1000;
  for (const socket of [...clients, ...workers]) socket.destroy();
  return load.jobs / seconds;
}
