import { describe, expect, test } from 'bun:test';
import { Wakeups } from '../../../src/protocol/server/wakeups.ts';
import { FakeWorker, store, submission, submit } from './fakes.ts';

describe('Wakeups', () => {
  test('a new job wakes one sleeper that can do it, not every sleeper', () => {
    const s = store();
    const fn = s.functionFor(Buffer.from('f'));
    const other = s.functionFor(Buffer.from('g'));
    const wakeups = new Wakeups(1000);
    const sleepers = [new FakeWorker(fn), new FakeWorker(fn), new FakeWorker(fn)];
    const unrelated = new FakeWorker(other);
    for (const w of [...sleepers, unrelated]) wakeups.sleep(w, false);
    submit(s, submission('f', 'one'));
    wakeups.balance(fn);
    expect(sleepers.map((w) => w.noops)).toEqual([1, 0, 0]);
    expect(unrelated.noops).toBe(0);
    // A second job while the first woken worker has not grabbed yet wakes a second one.
    submit(s, submission('f', 'two'));
    wakeups.balance(fn);
    expect(sleepers.map((w) => w.noops)).toEqual([1, 1, 0]);
    // Balancing again without new work wakes nobody.
    wakeups.balance(fn);
    expect(sleepers.map((w) => w.noops)).toEqual([1, 1, 0]);
    wakeups.stop();
  });

  test('PRE_SLEEP with work waiting answers NOOP at once', () => {
    const s = store();
    const fn = s.functionFor(Buffer.from('f'));
    const wakeups = new Wakeups(1000);
    const worker = new FakeWorker(fn);
    submit(s, submission('f', 'x'));
    wakeups.sleep(worker, s.hasWorkFor(worker));
    expect(worker.noops).toBe(1);
    expect(worker.sleep).toBe('woken');
    wakeups.stop();
  });

  test('a woken worker that grabs frees its other functions for other sleepers', () => {
    const s = store();
    const f = s.functionFor(Buffer.from('f'));
    const g = s.functionFor(Buffer.from('g'));
    const wakeups = new Wakeups(1000);
    const both = new FakeWorker(f, g);
    const onlyG = new FakeWorker(g);
    wakeups.sleep(both, false);
    wakeups.sleep(onlyG, false);
    submit(s, submission('g', 'job-g'));
    wakeups.balance(g);
    expect([both.noops, onlyG.noops]).toEqual([1, 0]);
    submit(s, submission('f', 'job-f'));
    wakeups.balance(f);
    // `both` woke for g's job and takes it (the older one); f's job stays, and onlyG cannot do f.
    expect(wakeups.awake(both)).toBe(true);
    expect(s.take(both)?.unique).toBe('job-g');
    wakeups.rebalance(both);
    expect(onlyG.noops).toBe(0);
    expect(f.runnable).toBe(1);
    expect(wakeups.awake(both)).toBe(false);
    wakeups.stop();
  });

  test('a woken worker that never grabs is passed over after the timeout', async () => {
    const s = store();
    const fn = s.functionFor(Buffer.from('f'));
    const wakeups = new Wakeups(50);
    const stuck = new FakeWorker(fn);
    const spare = new FakeWorker(fn);
    wakeups.sleep(stuck, false);
    wakeups.sleep(spare, false);
    submit(s, submission('f', 'x'));
    wakeups.balance(fn);
    expect([stuck.noops, spare.noops]).toEqual([1, 0]);
    await Bun.sleep(150);
    expect(spare.noops).toBe(1);
    wakeups.stop();
  });

  test('a sleeping worker that registers a function with work queued is woken', () => {
    const s = store();
    const fn = s.functionFor(Buffer.from('f'));
    const wakeups = new Wakeups(1000);
    const worker = new FakeWorker();
    wakeups.sleep(worker, false);
    submit(s, submission('f', 'x'));
    worker.can(fn);
    wakeups.added(worker, fn);
    expect(worker.noops).toBe(1);
    wakeups.stop();
  });
});
