/** The job server over real sockets, packet by packet. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { GearmanServer } from '../../../src/protocol/server/index.ts';
import { RawPeer, Type, adminRaw, startServer } from './raw-peer.ts';

let server: GearmanServer;
let port: number;
const open: RawPeer[] = [];
let fnCounter = 0;

async function peer(): Promise<RawPeer> {
  const p = await RawPeer.open(port);
  open.push(p);
  return p;
}

/** A fresh function name per test, so tests share the server without seeing each other's jobs. */
const fresh = (name: string): string => `${name}-${++fnCounter}`;

async function worker(fn: string, clientId?: string): Promise<RawPeer> {
  const w = await peer();
  if (clientId) w.send(Type.SET_CLIENT_ID, [clientId]);
  w.send(Type.CAN_DO, [fn]);
  await w.sync();
  return w;
}

beforeAll(async () => {
  ({ server, port } = await startServer({ jobRetries: 0, wakeTimeoutMs: 200 }));
});

afterAll(async () => {
  for (const p of open) p.close();
  await server.close();
});

describe('clients and workers', () => {
  test('jobs run high, then normal, then low, first in first out within each', async () => {
    const fn = fresh('prio');
    const client = await peer();
    const submitted = [
      [Type.SUBMIT_JOB_LOW_BG, 'low-1'],
      [Type.SUBMIT_JOB_BG, 'normal-1'],
      [Type.SUBMIT_JOB_HIGH_BG, 'high-1'],
      [Type.SUBMIT_JOB_LOW_BG, 'low-2'],
      [Type.SUBMIT_JOB_HIGH_BG, 'high-2'],
      [Type.SUBMIT_JOB_BG, 'normal-2'],
    ] as const;
    for (const [type, unique] of submitted) {
      client.send(type, [fn, unique, unique]);
      await client.next(Type.JOB_CREATED);
    }
    const w = await worker(fn);
    const order: string[] = [];
    for (let i = 0; i < submitted.length; i++) {
      w.send(Type.GRAB_JOB_UNIQ);
      const assigned = await w.next(Type.JOB_ASSIGN_UNIQ);
      order.push(assigned.args[2]!);
      w.send(Type.WORK_COMPLETE, [assigned.args[0]!, '']);
    }
    expect(order).toEqual(['high-1', 'high-2', 'normal-1', 'normal-2', 'low-1', 'low-2']);
    w.send(Type.GRAB_JOB_UNIQ);
    await w.next(Type.NO_JOB);
  });

  test('a second client with the same unique attaches; both get every WORK_* packet', async () => {
    const fn = fresh('coalesce');
    const [one, two] = [await peer(), await peer()];
    one.send(Type.SUBMIT_JOB, [fn, 'same', 'first']);
    const created = await one.next(Type.JOB_CREATED);
    two.send(Type.SUBMIT_JOB_HIGH, [fn, 'same', 'second']);
    expect((await two.next(Type.JOB_CREATED)).args).toEqual(created.args);
    const w = await worker(fn);
    w.send(Type.GRAB_JOB_UNIQ);
    const assigned = await w.next(Type.JOB_ASSIGN_UNIQ);
    expect(assigned.args.slice(1)).toEqual([fn, 'same', 'first']);
    const handle = assigned.args[0]!;
    w.send(Type.WORK_STATUS, [handle, '1', '2']);
    w.send(Type.WORK_DATA, [handle, 'partial']);
    w.send(Type.WORK_WARNING, [handle, 'careful']);
    w.send(Type.WORK_COMPLETE, [handle, 'result']);
    for (const client of [one, two]) {
      expect((await client.next(Type.WORK_STATUS)).args).toEqual([handle, '1', '2']);
      expect((await client.next(Type.WORK_DATA)).args).toEqual([handle, 'partial']);
      expect((await client.next(Type.WORK_WARNING)).args).toEqual([handle, 'careful']);
      expect((await client.next(Type.WORK_COMPLETE)).args).toEqual([handle, 'result']);
    }
  });

  test('WORK_EXCEPTION reaches clients that asked for exceptions; the others get WORK_FAIL', async () => {
    const fn = fresh('exceptions');
    const [asked, plain] = [await peer(), await peer()];
    asked.send(Type.OPTION_REQ, ['exceptions']);
    expect((await asked.next(Type.OPTION_RES)).args).toEqual(['exceptions']);
    asked.send(Type.SUBMIT_JOB, [fn, 'u', '']);
    const { args: [handle] } = await asked.next(Type.JOB_CREATED);
    plain.send(Type.SUBMIT_JOB, [fn, 'u', '']);
    await plain.next(Type.JOB_CREATED);
    const w = await worker(fn);
    w.send(Type.GRAB_JOB);
    await w.next(Type.JOB_ASSIGN);
    w.send(Type.WORK_EXCEPTION, [handle!, 'it broke']);
    expect((await asked.next(Type.WORK_EXCEPTION)).args).toEqual([handle!, 'it broke']);
    expect((await plain.next(Type.WORK_FAIL)).args).toEqual([handle!]);
    // The exception ended the job, as in gearmand 1.1.20. The WORK_FAIL that Perl's
    // Gearman::Worker sends right after it is taken quietly; another one is an error.
    w.send(Type.WORK_FAIL, [handle!]);
    await w.sync();
    expect(w.pending()).toEqual([]);
    w.send(Type.WORK_FAIL, [handle!]);
    expect((await w.next(Type.ERROR)).args).toEqual(['JOB_NOT_FOUND', 'Job given in work result not found']);
    expect(asked.pending()).toEqual([]);
  });

  test('GRAB_JOB answers JOB_ASSIGN, GRAB_JOB_UNIQ JOB_ASSIGN_UNIQ, GRAB_JOB_ALL JOB_ASSIGN_ALL only for reducers', async () => {
    const fn = fresh('grabs');
    const client = await peer();
    for (const unique of ['a', 'b', 'c']) {
      client.send(Type.SUBMIT_JOB_BG, [fn, unique, `data-${unique}`]);
      await client.next(Type.JOB_CREATED);
    }
    client.send(Type.SUBMIT_REDUCE_JOB_BACKGROUND, [fn, 'r', 'reducer-fn', '', 'data-r']);
    await client.next(Type.JOB_CREATED);
    const w = await worker(fn);
    w.send(Type.GRAB_JOB);
    expect((await w.next(Type.JOB_ASSIGN)).args.slice(1)).toEqual([fn, 'data-a']);
    w.send(Type.GRAB_JOB_UNIQ);
    expect((await w.next(Type.JOB_ASSIGN_UNIQ)).args.slice(1)).toEqual([fn, 'b', 'data-b']);
    w.send(Type.GRAB_JOB_ALL);
    expect((await w.next(Type.JOB_ASSIGN_UNIQ)).args.slice(1)).toEqual([fn, 'c', 'data-c']);
    w.send(Type.GRAB_JOB_ALL);
    expect((await w.next(Type.JOB_ASSIGN_ALL)).args.slice(1)).toEqual([fn, 'r', 'reducer-fn', 'data-r']);
    w.send(Type.GRAB_JOB_ALL);
    await w.next(Type.NO_JOB);
  });

  test('CAN_DO_TIMEOUT (milliseconds): an expired job is requeued and the late result refused', async () => {
    const fn = fresh('timeout');
    const client = await peer();
    // A job under a timeout no test run reaches stays with its worker the whole time.
    client.send(Type.SUBMIT_JOB, [fn, 'patient', '']);
    const { args: [kept] } = await client.next(Type.JOB_CREATED);
    const patient = await peer();
    patient.send(Type.CAN_DO_TIMEOUT, [fn, '3600000']);
    patient.send(Type.GRAB_JOB_UNIQ);
    expect((await patient.next(Type.JOB_ASSIGN_UNIQ)).args[0]).toBe(kept!);
    // A job under 150 ms expires and goes to the next worker that asks.
    client.send(Type.SUBMIT_JOB, [fn, 'slow', '']);
    const { args: [handle] } = await client.next(Type.JOB_CREATED);
    const slow = await peer();
    slow.send(Type.CAN_DO_TIMEOUT, [fn, '150']);
    slow.send(Type.GRAB_JOB_UNIQ);
    expect((await slow.next(Type.JOB_ASSIGN_UNIQ)).args[0]).toBe(handle!);
    const fast = await worker(fn);
    for (;;) {
      fast.send(Type.GRAB_JOB_UNIQ);
      const answer = await fast.next();
      if (answer.type === Type.JOB_ASSIGN_UNIQ) {
        expect(answer.args[0]).toBe(handle!);
        break;
      }
      expect(answer.name).toBe('NO_JOB');
      await Bun.sleep(20);
    }
    expect(await adminRaw(port, 'show jobs')).toMatch(new RegExp(`(^|\n)${handle}\t1\t0\t0\n`));
    slow.send(Type.WORK_COMPLETE, [handle!, 'late']);
    expect((await slow.next(Type.ERROR)).args[0]).toBe('JOB_NOT_FOUND');
    fast.send(Type.WORK_COMPLETE, [handle!, 'on time']);
    expect((await client.next(Type.WORK_COMPLETE)).args).toEqual([handle!, 'on time']);
    // The patient job was never taken from its worker: its result still counts.
    patient.send(Type.WORK_COMPLETE, [kept!, 'patient']);
    expect((await client.next(Type.WORK_COMPLETE)).args).toEqual([kept!, 'patient']);
  });

  test('a worker that disconnects mid-job: the job is requeued and runs on another worker', async () => {
    const fn = fresh('requeue');
    const client = await peer();
    client.send(Type.SUBMIT_JOB, [fn, 'u', 'payload']);
    const { args: [handle] } = await client.next(Type.JOB_CREATED);
    const doomed = await worker(fn);
    doomed.send(Type.GRAB_JOB_UNIQ);
    await doomed.next(Type.JOB_ASSIGN_UNIQ);
    const rescuer = await worker(fn);
    rescuer.send(Type.PRE_SLEEP);
    await rescuer.sync();
    doomed.close();
    await rescuer.next(Type.NOOP);
    rescuer.send(Type.GRAB_JOB_UNIQ);
    expect((await rescuer.next(Type.JOB_ASSIGN_UNIQ)).args).toEqual([handle!, fn, 'u', 'payload']);
    rescuer.send(Type.WORK_COMPLETE, [handle!, 'done']);
    expect((await client.next(Type.WORK_COMPLETE)).args[1]).toBe('done');
  });

  test('NOOP goes only to sleeping workers that can do the function, one per job', async () => {
    const fn = fresh('noop');
    const other = fresh('other');
    const sleepers = [await worker(fn), await worker(fn), await worker(fn)];
    const awake = await worker(fn);
    const unrelated = await worker(other);
    for (const w of [...sleepers, unrelated]) {
      w.send(Type.PRE_SLEEP);
      await w.sync();
    }
    const client = await peer();
    client.send(Type.SUBMIT_JOB_BG, [fn, 'one', '']);
    await client.next(Type.JOB_CREATED);
    // The server wakes sleepers as it queues the job: each one's answer to a later ECHO comes after any NOOP.
    for (const w of [...sleepers, awake, unrelated]) await w.sync();
    const woken = sleepers.filter((w) => w.pending().includes('NOOP'));
    expect(woken).toHaveLength(1);
    expect(awake.pending()).toEqual([]);
    expect(unrelated.pending()).toEqual([]);
    woken[0]!.send(Type.GRAB_JOB_UNIQ);
    await woken[0]!.next(Type.JOB_ASSIGN_UNIQ);
  });

  test('a woken worker that never grabs does not strand the job', async () => {
    const fn = fresh('strand');
    const [first, second] = [await worker(fn), await worker(fn)];
    for (const w of [first, second]) {
      w.send(Type.PRE_SLEEP);
      await w.sync();
    }
    const client = await peer();
    client.send(Type.SUBMIT_JOB_BG, [fn, 'x', '']);
    await client.next(Type.JOB_CREATED);
    // One of them is woken at once (its NOOP comes before its ECHO answer); it ignores the NOOP,
    // so after wakeTimeoutMs the other is.
    for (const w of [first, second]) await w.sync();
    const [stuck, spare] = first.pending().includes('NOOP') ? [first, second] : [second, first];
    expect(stuck.pending()).toEqual(['NOOP']);
    expect(spare.pending()).toEqual([]);
    await spare.next(Type.NOOP, 2000);
    spare.send(Type.GRAB_JOB);
    await spare.next(Type.JOB_ASSIGN);
  });

  test('PRE_SLEEP while a job waits is answered with NOOP at once', async () => {
    const fn = fresh('presleep');
    const client = await peer();
    client.send(Type.SUBMIT_JOB_BG, [fn, 'x', '']);
    await client.next(Type.JOB_CREATED);
    const w = await worker(fn);
    w.send(Type.PRE_SLEEP);
    await w.next(Type.NOOP);
  });

  test('GET_STATUS and GET_STATUS_UNIQUE follow a job from queued to running to gone', async () => {
    const fn = fresh('status');
    const client = await peer();
    client.send(Type.SUBMIT_JOB, [fn, 'status-unique', '']);
    const { args: [handle] } = await client.next(Type.JOB_CREATED);
    client.send(Type.GET_STATUS, [handle!]);
    expect((await client.next(Type.STATUS_RES)).args).toEqual([handle!, '1', '0', '0', '0']);
    const w = await worker(fn);
    w.send(Type.GRAB_JOB);
    await w.next(Type.JOB_ASSIGN);
    w.send(Type.WORK_STATUS, [handle!, '3', '7']);
    await client.next(Type.WORK_STATUS);
    client.send(Type.GET_STATUS, [handle!]);
    expect((await client.next(Type.STATUS_RES)).args).toEqual([handle!, '1', '1', '3', '7']);
    client.send(Type.GET_STATUS_UNIQUE, ['status-unique']);
    expect((await client.next(Type.STATUS_RES_UNIQUE)).args).toEqual(['status-unique', '1', '1', '3', '7', '1']);
    w.send(Type.WORK_COMPLETE, [handle!, '']);
    await client.next(Type.WORK_COMPLETE);
    client.send(Type.GET_STATUS, [handle!]);
    expect((await client.next(Type.STATUS_RES)).args).toEqual([handle!, '0', '0', '0', '0']);
    client.send(Type.GET_STATUS_UNIQUE, ['status-unique']);
    expect((await client.next(Type.STATUS_RES_UNIQUE)).args).toEqual(['status-unique', '0', '0', '0', '0', '0']);
  });

  test('F9: GET_STATUS returns the numbers the worker sent, unchanged, even beyond 32 bits', async () => {
    const fn = fresh('status-large');
    const client = await peer();
    client.send(Type.SUBMIT_JOB, [fn, 'status-large', '']);
    const { args: [handle] } = await client.next(Type.JOB_CREATED);
    const w = await worker(fn);
    w.send(Type.GRAB_JOB);
    await w.next(Type.JOB_ASSIGN);
    w.send(Type.WORK_STATUS, [handle!, '5000000000', '10000000000']);
    expect((await client.next(Type.WORK_STATUS)).args).toEqual([handle!, '5000000000', '10000000000']);
    client.send(Type.GET_STATUS, [handle!]);
    expect((await client.next(Type.STATUS_RES)).args).toEqual([handle!, '1', '1', '5000000000', '10000000000']);
    client.send(Type.GET_STATUS_UNIQUE, ['status-large']);
    expect((await client.next(Type.STATUS_RES_UNIQUE)).args).toEqual(['status-large', '1', '1', '5000000000', '10000000000', '1']);
    w.send(Type.WORK_COMPLETE, [handle!, '']);
    await client.next(Type.WORK_COMPLETE);
  });

  test('ECHO, unknown options, SUBMIT_JOB_SCHED and replies sent as requests get gearmand\'s answers', async () => {
    const p = await peer();
    p.send(Type.ECHO_REQ, ['ping\0with a NUL']);
    expect((await p.next(Type.ECHO_RES)).args).toEqual(['ping\0with a NUL']);
    p.send(Type.OPTION_REQ, ['bogus']);
    expect((await p.next(Type.ERROR)).args).toEqual(['UNKNOWN_OPTION', 'Server does not recognize given option']);
    p.send(Type.SUBMIT_JOB_SCHED, ['f', 'u', '1', '1', '1', '1', '1', 'x']);
    expect((await p.next(Type.ERROR)).args).toEqual(['INVALID_COMMAND', 'Command not expected']);
    p.write(new Uint8Array([0, 0x52, 0x45, 0x53, 0, 0, 0, 6, 0, 0, 0, 0])); // NOOP with RES magic
    expect((await p.next(Type.ERROR)).args).toEqual(['INVALID_MAGIC', 'Request magic expected']);
    p.send(Type.WORK_DATA, ['H:test:999999', 'x']);
    expect((await p.next(Type.ERROR)).args).toEqual(['JOB_NOT_FOUND', 'Job does not exist on server']);
    p.send(Type.SUBMIT_JOB_BG, ['f', 'u'.repeat(65), 'x']);
    expect((await p.next(Type.ERROR)).args).toEqual(['ARGUMENT_TOO_LARGE', 'Unique value too large']);
    // Still serving after all of that.
    await p.sync();
  });

  test('SUBMIT_JOB_EPOCH: the job is held until its time, then a sleeping worker is woken', async () => {
    const fn = fresh('epoch');
    const w = await worker(fn);
    w.send(Type.PRE_SLEEP);
    await w.sync();
    const client = await peer();
    const inOneSecond = String(Math.ceil(Date.now() / 1000) + 1);
    client.send(Type.SUBMIT_JOB_EPOCH, [fn, 'later', inOneSecond, 'payload']);
    await client.next(Type.JOB_CREATED);
    expect(await adminRaw(port, 'prioritystatus')).toContain(`${fn}\t0\t1\t0\t1\n`);
    await w.sync();
    expect(w.pending()).toEqual([]);
    await w.next(Type.NOOP, 3000);
    w.send(Type.GRAB_JOB_UNIQ);
    expect((await w.next(Type.JOB_ASSIGN_UNIQ)).args.slice(1)).toEqual([fn, 'later', 'payload']);
  });
});
