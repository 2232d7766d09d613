import { expect, test } from 'bun:test';
import { MAX_TIMER_MS, setLongTimeout } from '../../src/util/timers.ts';

test('G4: a delay past 2^31 - 1 ms (or Infinity) does not fire at once, as a plain setTimeout does', async () => {
  const fired: string[] = [];
  const plain = setTimeout(() => fired.push('plain setTimeout(MAX + 1)'), MAX_TIMER_MS + 1);
  const long = setLongTimeout(() => fired.push('long MAX + 1'), MAX_TIMER_MS + 1);
  const forever = setLongTimeout(() => fired.push('long Infinity'), Number.POSITIVE_INFINITY);
  const short = setLongTimeout(() => fired.push('long 20 ms'), 20);
  await new Promise((resolve) => setTimeout(resolve, 100));
  clearTimeout(plain);
  long.cancel();
  forever.cancel();
  short.cancel();
  // The plain timer shows the overflow this guards against; the long ones wait.
  expect(fired).toEqual(['plain setTimeout(MAX + 1)', 'long 20 ms']);
});

test('a cancelled long timer never fires', async () => {
  let fired = false;
  setLongTimeout(() => (fired = true), 5).cancel();
  await new Promise((resolve) => setTimeout(resolve, 30));
  expect(fired).toBe(false);
});
