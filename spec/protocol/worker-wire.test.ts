import { expect, test } from 'bun:test';
import { Decoder } from '../../src/protocol/codec/decoder.ts';
import { JobStateError } from '../../src/errors/job-failure.ts';
import { Type, packetName } from '../../src/protocol/codec/packets.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import type { WorkerJob } from '../../src/protocol/worker/worker-job.ts';
import { eventually } from '../support/run.ts';
import { startScriptedServer } from '../support/scripted-server.ts';

const JOBS = 3;

/** A fake server that hands out JOBS jobs and records, per TCP read, the packets the worker sent. */
async function recordingServer() {
  const reads: string[][] = [];
  let assigned = 0;
  const server = await startScriptedServer(
    (packet, connection) => {
      if (packet.type !== Type.GRAB_JOB_UNIQ) return;
      if (assigned < JOBS) {
        assigned++;
        connection.reply(Type.JOB_ASSIGN_UNIQ, [`H:test:${assigned}`, 'fn', `u${assigned}`, 'payload']);
      } else connection.reply(Type.NO_JOB, []);
    },
    (chunk) => {
      const names: string[] = [];
      new Decoder({ packet: (p) => names.push(packetName(p.type)), text: () => {} }).push(chunk);
      reads.push(names);
    },
  );
  return { server, reads };
}

test('(fake server) a job result and the next GRAB_JOB_UNIQ leave in one write', async () => {
  const { server, reads } = await recordingServer();
  const worker = new Worker({ servers: [server] });
  worker.register('fn', (job) => `done ${job.handle}`);
  worker.start();
  await eventually(() => reads.flat().includes('PRE_SLEEP'));
  await worker.stop(100);
  await server.close();
  expect(reads).toContainEqual(['WORK_COMPLETE', 'GRAB_JOB_UNIQ']);
  expect(reads.flat().filter((name) => name === 'WORK_COMPLETE')).toHaveLength(JOBS);
  expect(reads.flat()).toEqual([
    'CAN_DO',
    'GRAB_JOB_UNIQ',
    ...Array.from({ length: JOBS }, () => ['WORK_COMPLETE', 'GRAB_JOB_UNIQ']).flat(),
    'PRE_SLEEP',
  ]);
});

test('(fake server) a job sends exactly one terminal packet', async () => {
  const { server, reads } = await recordingServer();
  const worker = new Worker({ servers: [server] });
  const refusals: unknown[] = [];
  worker.register('fn', (job: WorkerJob) => {
    job.fail();
    for (const again of [() => job.complete('late'), () => job.exception('late'), () => job.status(1, 2)]) {
      try {
        again();
      } catch (err) {
        refusals.push(err);
      }
    }
    return 'ignored: the job already failed';
  });
  worker.start();
  await eventually(() => reads.flat().includes('PRE_SLEEP'));
  await worker.stop(100);
  await server.close();
  const sent = reads.flat();
  expect(sent.filter((name) => name === 'WORK_FAIL')).toHaveLength(JOBS);
  expect(sent).not.toContain('WORK_COMPLETE');
  expect(sent).not.toContain('WORK_EXCEPTION');
  expect(refusals).toHaveLength(3 * JOBS);
  for (const err of refusals) expect(err).toBeInstanceOf(JobStateError);
});

test('(fake server) a job for a function the worker does not have: WORK_WARNING with the reason, then WORK_FAIL', async () => {
  const sent: Array<[string, string[]]> = [];
  let assigned = false;
  const server = await startScriptedServer((packet, connection) => {
    sent.push([packetName(packet.type), packet.args.map((a) => Buffer.from(a).toString())]);
    if (packet.type !== Type.GRAB_JOB_UNIQ) return;
    if (assigned) return connection.reply(Type.NO_JOB, []);
    assigned = true;
    connection.reply(Type.JOB_ASSIGN_UNIQ, ['H:test:1', 'gone', 'u1', 'payload']);
  });
  const worker = new Worker({ servers: [server] });
  worker.register('fn', () => 'unused');
  worker.start();
  await eventually(() => sent.some(([name]) => name === 'WORK_FAIL'));
  await worker.stop(100);
  await server.close();
  const answers = sent.filter(([name]) => name.startsWith('WORK_'));
  expect(answers).toEqual([
    ['WORK_WARNING', ['H:test:1', 'no handler for gone in class default']],
    ['WORK_FAIL', ['H:test:1']],
  ]);
});
