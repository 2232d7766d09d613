/**
 * The npm `gearman` package's worker, exactly as its README shows: on JOB_ASSIGN send
 * WORK_COMPLETE then PRE_SLEEP; on NOOP grab (GRAB_JOB). One package instance is one
 * connection ("only supports 1 server connection per client/worker"), so N connections are N
 * instances in this one process.
 */
import { type Counter, workerMain } from '../harness/worker-main.ts';
import { gearman } from './npm-gearman.ts';

function openWorker(host: string, port: number, fn: string, counter: Counter): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = gearman(host, port);
    worker.on('error', reject);
    worker.on('ERROR', (code, text) => reject(new Error(`gearman npm worker: server error ${code} ${text}`)));
    worker.on('JOB_ASSIGN', (job) => {
      counter.jobs++;
      worker.sendWorkComplete(job.handle, job.payload);
      worker.preSleep();
    });
    worker.on('NOOP', () => worker.grabJob());
    worker.connect(() => {
      worker.addFunction(fn);
      worker.preSleep();
      resolve();
    });
  });
}

await workerMain(async (args, counter) => {
  await Promise.all(Array.from({ length: args.conns }, () => openWorker(args.host, args.port, args.fn, counter)));
});
