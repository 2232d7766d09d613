import { describe, expect, test } from 'bun:test';
import { Fifo } from '../../../src/protocol/server/fifo.ts';
import { FakeClient, FakeWorker, HIGH, LOW, NORMAL, store, submission, submit, text } from './fakes.ts';

describe('Fifo', () => {
  test('keeps order across growth and wrap-around', () => {
    const fifo = new Fifo<number>(2);
    const out: number[] = [];
    for (let i = 0; i < 1000; i++) {
      fifo.push(i);
      if (i % 3 === 0) out.push(fifo.shift()!);
    }
    while (fifo.length > 0) out.push(fifo.shift()!);
    expect(out).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(fifo.shift()).toBeUndefined();
  });
});

describe('JobStore', () => {
  test('high before normal before low, FIFO within each priority', () => {
    const s = store();
    const fn = s.functionFor(Buffer.from('f'));
    const order = [
      ['low-1', LOW],
      ['normal-1', NORMAL],
      ['high-1', HIGH],
      ['low-2', LOW],
      ['high-2', HIGH],
      ['normal-2', NORMAL],
    ] as const;
    for (const [name, priority] of order) submit(s, submission('f', name, name, priority));
    expect(fn.queued).toEqual([2, 2, 2]);
    const worker = new FakeWorker(fn);
    const taken: string[] = [];
    for (let job = s.take(worker); job; job = s.take(worker)) taken.push(job.unique);
    expect(taken).toEqual(['high-1', 'high-2', 'normal-1', 'normal-2', 'low-1', 'low-2']);
    expect(fn.running).toBe(6);
    expect(fn.total).toBe(6);
  });

  test('across functions a worker gets the highest priority, then the oldest job', () => {
    const s = store();
    const a = s.functionFor(Buffer.from('a'));
    const b = s.functionFor(Buffer.from('b'));
    submit(s, submission('a', 'a-low', '', LOW));
    submit(s, submission('b', 'b-normal', '', NORMAL));
    submit(s, submission('a', 'a-normal', '', NORMAL));
    submit(s, submission('b', 'b-high', '', HIGH));
    const worker = new FakeWorker(a, b);
    const taken: string[] = [];
    for (let job = s.take(worker); job; job = s.take(worker)) taken.push(job.unique);
    expect(taken).toEqual(['b-high', 'b-normal', 'a-normal', 'a-low']);
  });

  test('a second submission with the same function and unique joins the job; another function does not', () => {
    const s = store();
    const one = new FakeClient();
    const two = new FakeClient();
    const first = submit(s, submission('f', 'same', 'data-1', NORMAL, false), one);
    const second = s.submit(submission('f', 'same', 'data-2', HIGH, false), two);
    expect(second).toMatchObject({ ok: true, created: false });
    expect(second.ok && second.job).toBe(first);
    expect(first.waiters).toEqual([one, two]);
    expect(text(first.payload)).toBe('data-1');
    const other = submit(s, submission('g', 'same'));
    expect(other).not.toBe(first);
    expect(s.jobs.size).toBe(2);
  });

  test('an empty unique never coalesces; "-" coalesces on the data', () => {
    const s = store();
    expect(submit(s, submission('f', ''))).not.toBe(submit(s, submission('f', '')));
    const byData = submit(s, submission('f', '-', 'payload'));
    expect(submit(s, submission('f', '-', 'payload'))).toBe(byData);
    expect(submit(s, submission('f', '-', 'other'))).not.toBe(byData);
    // As in gearmand, a "-" job is keyed by its data: GET_STATUS_UNIQUE "-" finds none (issue 19, G10).
    expect(s.findByUnique('-')).toBeUndefined();
  });

  test('a running job still coalesces until it finishes', () => {
    const s = store();
    const fn = s.functionFor(Buffer.from('f'));
    const job = submit(s, submission('f', 'u'));
    expect(s.take(new FakeWorker(fn))).toBe(job);
    expect(submit(s, submission('f', 'u'))).toBe(job);
    s.finish(job);
    expect(submit(s, submission('f', 'u'))).not.toBe(job);
  });

  test('limits: the global job cap, the byte cap and maxqueue per priority answer QUEUE_ERROR', () => {
    const capped = store({ maxQueuedJobs: 2 });
    submit(capped, submission('f', '1'));
    submit(capped, submission('f', '2'));
    expect(capped.submit(submission('f', '3'))).toEqual({ ok: false, code: 'QUEUE_ERROR', text: 'Job queue is full' });
    // Joining an existing job needs no room.
    expect(capped.submit(submission('f', '1')).ok).toBe(true);

    const bytes = store({ maxQueuedBytes: 10 });
    submit(bytes, submission('f', 'a', '12345678'));
    expect(bytes.submit(submission('f', 'b', '123')).ok).toBe(false);

    const s = store();
    const fn = s.functionFor(Buffer.from('f'));
    fn.maxQueue = [0, 1, 0];
    submit(s, submission('f', 'n1', '', NORMAL));
    expect(s.submit(submission('f', 'n2', '', NORMAL)).ok).toBe(false);
    expect(s.submit(submission('f', 'h1', '', HIGH)).ok).toBe(true);
  });

  test('unique and function names over gearmand\'s limits are refused', () => {
    const s = store();
    expect(s.submit(submission('f', 'u'.repeat(64))).ok).toBe(true);
    expect(s.submit(submission('f', 'u'.repeat(65)))).toMatchObject({ ok: false, code: 'ARGUMENT_TOO_LARGE' });
    expect(s.submit(submission('f'.repeat(513), 'x'))).toMatchObject({ ok: false, code: 'ARGUMENT_TOO_LARGE' });
  });

  test('a requeued job goes to the end of its queue and counts a retry', () => {
    const s = store();
    const fn = s.functionFor(Buffer.from('f'));
    const worker = new FakeWorker(fn);
    const first = submit(s, submission('f', 'first'));
    submit(s, submission('f', 'second'));
    expect(s.take(worker)).toBe(first);
    expect(s.requeue(first)).toBe('requeued');
    expect(first).toMatchObject({ retries: 1, state: 'queued', worker: undefined });
    expect(worker.running.size).toBe(0);
    expect(s.take(worker)?.unique).toBe('second');
    expect(s.take(worker)).toBe(first);
  });

  test('with a retry limit, the job is exhausted on the last lost worker', () => {
    const s = store({ jobRetries: 2 });
    const fn = s.functionFor(Buffer.from('f'));
    const worker = new FakeWorker(fn);
    const job = submit(s, submission('f', 'u'));
    s.take(worker);
    expect(s.requeue(job)).toBe('requeued');
    s.take(worker);
    expect(s.requeue(job)).toBe('exhausted');
    s.finish(job);
    expect(s.jobs.size).toBe(0);
    expect(fn.total).toBe(0);
  });

  test('a foreground job abandoned by its only client is dropped instead of run', () => {
    const s = store();
    const fn = s.functionFor(Buffer.from('f'));
    const client = new FakeClient();
    const abandoned = submit(s, submission('f', 'gone', '', NORMAL, false), client);
    const kept = submit(s, submission('f', 'kept', '', NORMAL, true));
    s.detach(abandoned, client);
    expect(abandoned).toMatchObject({ ignored: true, persisted: false });
    expect(client.waiting.size).toBe(0);
    expect(fn.total).toBe(2); // listed until a worker would take it, like gearmand
    expect(s.take(new FakeWorker(fn))).toBe(kept);
    expect(s.jobs.has(abandoned.handle)).toBe(false);
    // A later submission with the same unique starts a new job.
    expect(submit(s, submission('f', 'gone'))).not.toBe(abandoned);
  });

  test('a background submission keeps a joined foreground job alive when its client leaves', () => {
    const s = store();
    const client = new FakeClient();
    const job = submit(s, submission('f', 'u', '', NORMAL, false), client);
    submit(s, submission('f', 'u', '', NORMAL, true));
    s.detach(job, client);
    expect(job.ignored).toBe(false);
  });

  test('cancel detaches the clients and flags the job; unknown handles are undefined', () => {
    const s = store();
    const client = new FakeClient();
    const job = submit(s, submission('f', 'u', '', NORMAL, false), client);
    expect(s.cancel('H:test:999')).toBeUndefined();
    expect(s.cancel(job.handle)).toEqual([client]);
    expect(job).toMatchObject({ ignored: true, persisted: false, waiters: [] });
    expect(s.jobs.get(job.handle)).toBe(job);
  });

  test('SUBMIT_JOB_EPOCH jobs wait until due, counted as queued meanwhile', () => {
    const s = store();
    const fn = s.functionFor(Buffer.from('f'));
    const worker = new FakeWorker(fn);
    const later = Date.now() + 60_000;
    const job = submit(s, { ...submission('f', 'later'), runAt: later });
    expect(job.state).toBe('scheduled');
    expect(fn.queued[NORMAL]).toBe(1);
    expect(s.take(worker)).toBeUndefined();
    expect(s.nextDueAt).toBe(later);
    expect([...s.releaseDue(later - 1)]).toEqual([]);
    expect([...s.releaseDue(later)]).toEqual([fn]);
    expect(s.take(worker)).toBe(job);
  });

  test('handles are H:<host>:<n>, counting from 1', () => {
    const s = store();
    expect(submit(s, submission('f', 'a')).handle).toBe('H:test:1');
    expect(submit(s, submission('f', 'b')).handle).toBe('H:test:2');
  });

  test('payloads are copied: a job never pins the socket read it came in', () => {
    const s = store();
    const read = new Uint8Array(65536);
    const payload = read.subarray(100, 104);
    const job = submit(s, { ...submission('f', 'u'), payload });
    expect(job.payload.buffer).not.toBe(read.buffer);
    expect(job.payload.byteLength).toBe(4);
  });
});
