/**
 * S1 (found for the scheduler, issue 14): a running foreground job whose only client went away
 * lost its unique in the embedded server, so the same submission from a scheduler back from a
 * crash started a second run (gearmand attaches it to the run; spec/e2e/scheduler-resubmit
 * checks both servers over sockets).
 */
import { describe, expect, test } from 'bun:test';
import { FakeClient, FakeWorker, NORMAL, store, submission, submit } from './fakes.ts';

describe('S1: a running job its client left', () => {
  test('keeps its unique: a new submission attaches to the run, and a lost worker then requeues it for the new client', () => {
    const s = store();
    const fn = s.functionFor(Buffer.from('image-upload:b1'));
    const [crashed, restarted] = [new FakeClient(), new FakeClient()];
    const job = submit(s, submission('image-upload:b1', 'upload-7', 'a', NORMAL, false), crashed);
    expect(s.take(new FakeWorker(fn))).toBe(job);
    s.detach(job, crashed);
    expect(job).toMatchObject({ state: 'running', ignored: true });
    expect(submit(s, submission('image-upload:b1', 'upload-7', 'b', NORMAL, false), restarted)).toBe(job);
    expect(job.ignored).toBe(false);
    expect(s.requeue(job)).toBe('requeued');
  });

  test('with nobody attached again, a lost worker drops it instead of running it for nobody (as gearmand)', () => {
    const s = store();
    const fn = s.functionFor(Buffer.from('f'));
    const client = new FakeClient();
    const job = submit(s, submission('f', 'u', '', NORMAL, false), client);
    s.take(new FakeWorker(fn));
    s.detach(job, client);
    expect(s.requeue(job)).toBe('dropped');
    expect(s.jobs.size).toBe(0);
    expect(submit(s, submission('f', 'u'))).not.toBe(job);
  });

  test('once finished, its unique starts a new job', () => {
    const s = store();
    const fn = s.functionFor(Buffer.from('f'));
    const client = new FakeClient();
    const job = submit(s, submission('f', 'u', '', NORMAL, false), client);
    s.take(new FakeWorker(fn));
    s.detach(job, client);
    s.finish(job);
    expect(submit(s, submission('f', 'u'))).not.toBe(job);
  });
});
