/**
 * A builder fleet registers hundreds of functions per worker connection (one per image). The
 * server's work for one job must not grow with that number: bench/fleet measured 0.42× gearmand's
 * jobs/s with 400 functions a connection, the server walking the worker's whole function list
 * several times per job (PRE_SLEEP, NOOP, GRAB). In memory: the broker and a stand-in
 * connection whose function list counts every entry read.
 */
import { Buffer } from 'node:buffer';
import { heapStats } from 'bun:jsc';
import { expect, test } from 'bun:test';
import { Type } from '../../../src/protocol/codec/packets.ts';
import { Abilities } from '../../../src/protocol/server/abilities.ts';
import { answerAdminLine } from '../../../src/protocol/server/admin-commands.ts';
import { type BrokerPeer, Broker } from '../../../src/protocol/server/broker.ts';
import type { Ability, FunctionEntry, Job, SleepState } from '../../../src/protocol/server/job.ts';
import { resolveOptions } from '../../../src/protocol/server/options.ts';
import { submission } from './fakes.ts';

/** A function list that counts how often the server reads one of its entries, and how often it walks all of them. */
class CountingAbilities extends Abilities {
  reads = 0;
  walks = 0;

  override keys(): MapIterator<string> {
    this.walks++;
    return super.keys();
  }

  override set(name: string, ability: Ability): this {
    const list = this;
    return super.set(name, {
      get fn(): FunctionEntry {
        list.reads++;
        return ability.fn;
      },
      timeoutMs: ability.timeoutMs,
    });
  }
}

let ids = 0;

class StandInPeer implements BrokerPeer {
  readonly id = ++ids;
  readonly label = `stand-in ${this.id}`;
  readonly address = '127.0.0.1';
  readonly clientId = `builder-${this.id}`;
  readonly abilities = new CountingAbilities();
  readonly ready = new Set<FunctionEntry>();
  readonly running = new Set<Job>();
  readonly waiting = new Map<Job, number>();
  readonly exceptions = false;
  sleep: SleepState = 'awake';
  wokenAt = 0;
  sleptAt = 0;
  noops = 0;
  readonly sent: Uint8Array[][] = [];

  sendNoop(): void {
    this.noops++;
  }

  send(chunks: readonly Uint8Array[]): void {
    this.sent.push([...chunks]);
  }

  answerGrab(chunks: readonly Uint8Array[]): void {
    this.send(chunks);
  }
}

/** Function entries of the worker's list read during one job: PRE_SLEEP, submit, NOOP, two GRABs, WORK_COMPLETE, PRE_SLEEP. */
function readsForOneJob(functions: number): number {
  const broker = new Broker(resolveOptions({}));
  try {
    const worker = new StandInPeer();
    const client = new StandInPeer();
    for (let i = 0; i < functions; i++) broker.canDo(worker, Buffer.from(`image-upload:${i}`), 0);
    broker.preSleep(worker);
    worker.abilities.reads = 0;

    broker.submit(client, { ...submission(`image-upload:${functions - 1}`, 'u1', 'data'), background: false }, true);
    expect(worker.noops).toBe(1);
    broker.grab(worker, 'GRAB_JOB_UNIQ');
    // Our Worker keeps more than one GRAB in flight: the second finds nothing.
    broker.grab(worker, 'GRAB_JOB_UNIQ');
    const [job] = worker.running;
    expect(job?.unique).toBe('u1');
    broker.finish(job!, Type.WORK_COMPLETE, [job!.handleBytes, Buffer.from('done')]);
    expect(worker.running.size).toBe(0);
    expect(client.waiting.size).toBe(0);
    broker.preSleep(worker);
    expect(worker.noops).toBe(1);
    return worker.abilities.reads;
  } finally {
    broker.stop();
  }
}

test('fleet scale: the work for one job does not grow with the functions its worker registered', () => {
  expect(readsForOneJob(10_000)).toBe(readsForOneJob(10));
});

test('fleet scale: `workers` joins a connection\'s function names once, not on every request', () => {
  const broker = new Broker(resolveOptions({}));
  const worker = new StandInPeer();
  const context = { broker, connections: () => [worker] };
  for (let i = 0; i < 400; i++) broker.canDo(worker, Buffer.from(`image-upload:${i}`), 0);
  const names = Array.from({ length: 400 }, (_, i) => `image-upload:${399 - i}`);
  const row = (fns: readonly string[]): string => `${worker.id} 127.0.0.1 ${worker.clientId} : ${fns.join(' ')}\n.\n`;

  expect(answerAdminLine(context, 'workers')).toBe(row(names));
  expect(answerAdminLine(context, 'workers')).toBe(row(names));
  expect(worker.abilities.walks).toBe(1);

  // A change of its functions shows at once: newest first, a dropped one gone.
  broker.canDo(worker, Buffer.from('image-upload:new'), 0);
  broker.cantDo(worker, 'image-upload:0');
  expect(answerAdminLine(context, 'workers')).toBe(row(['image-upload:new', ...names.slice(0, -1)]));
  broker.resetAbilities(worker);
  expect(answerAdminLine(context, 'workers')).toBe(`${worker.id} 127.0.0.1 ${worker.clientId} :\n.\n`);
  broker.stop();
});

/** Objects, arrays and byte arrays on the heap after a full collection. */
function heapCells(): number {
  Bun.gc(true);
  const counts = heapStats().objectTypeCounts;
  return (counts.Object ?? 0) + (counts.Array ?? 0) + (counts.Uint8Array ?? 0);
}

test('fleet scale: a registered function that never had a job holds no job queues and no copy of its name', () => {
  const broker = new Broker(resolveOptions({}));
  const worker = new StandInPeer();
  const functions = 10_000;
  const before = heapCells();
  for (let i = 0; i < functions; i++) broker.canDo(worker, Buffer.from(`image-upload:${i}`), 0);
  const perFunction = (heapCells() - before) / functions;
  // Its entry, the entry's queued-job counts, the worker's ability record (and the stand-in's counting wrapper of it).
  expect(Math.round(perFunction)).toBe(4);
  expect(broker.store.functions.size).toBe(functions);
  broker.stop();
});
