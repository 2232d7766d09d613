/**
 * The npm `gearman` package's client: submitJob() per job (the package makes up a 12-character
 * unique), JOB_CREATED events matched in order, WORK_COMPLETE events by handle. N connections
 * are N package instances in this process; submits go round-robin over them.
 */
import type { Buffer } from 'node:buffer';
import type { EchoDriver } from '../harness/batch.ts';
import { clientMain } from '../harness/client-main.ts';
import { type GearmanConnection, gearman } from './npm-gearman.ts';

interface Pending {
  readonly done: (result: Uint8Array) => void;
  readonly fail: (err: Error) => void;
}

interface Instance {
  readonly conn: GearmanConnection;
  readonly unconfirmed: Pending[];
}

function openClient(host: string, port: number): Promise<Instance> {
  return new Promise((resolve, reject) => {
    const conn = gearman(host, port);
    const unconfirmed: Pending[] = [];
    const running = new Map<string, Pending>();
    conn.on('error', reject);
    conn.on('JOB_CREATED', (handle) => running.set(handle, unconfirmed.shift()!));
    conn.on('WORK_COMPLETE', (job) => {
      const pending = running.get(job.handle)!;
      running.delete(job.handle);
      pending.done(job.payload);
    });
    conn.on('WORK_FAIL', (job) => running.get(job.handle)?.fail(new Error(`WORK_FAIL ${job.handle}`)));
    conn.connect(() => resolve({ conn, unconfirmed }));
  });
}

await clientMain(async (args): Promise<EchoDriver> => {
  const instances = await Promise.all(Array.from({ length: args.conns }, () => openClient(args.host, args.port)));
  let cursor = 0;
  return {
    submit(payload: Buffer, done, fail) {
      const instance = instances[cursor]!;
      cursor = (cursor + 1) % instances.length;
      instance.unconfirmed.push({ done, fail });
      instance.conn.submitJob(args.fn, payload);
    },
    close() {
      for (const instance of instances) instance.conn.close();
    },
  };
});
