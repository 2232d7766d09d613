import { describe, expect, test } from 'bun:test';
import { Backoff } from '../../src/protocol/transport/backoff.ts';
import { parseServerAddress } from '../../src/protocol/transport/connect-address.ts';

describe('Backoff', () => {
  const policy = { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 };

  test('grows exponentially between half and all of each step, and caps', () => {
    const low = new Backoff(policy, () => 0);
    const high = new Backoff(policy, () => 1);
    expect(Array.from({ length: 7 }, () => low.next())).toEqual([50, 100, 200, 400, 500, 500, 500]);
    expect(Array.from({ length: 7 }, () => high.next())).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  test('reset starts again from the initial delay', () => {
    const backoff = new Backoff(policy, () => 1);
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.next()).toBe(100);
  });
});

describe('parseServerAddress', () => {
  test.each([
    ['gear.example', { host: 'gear.example', port: 4730 }],
    ['127.0.0.1:4731', { host: '127.0.0.1', port: 4731 }],
    ['[::1]:4732', { host: '::1', port: 4732 }],
  ])('%s', (text, expected) => expect(parseServerAddress(text)).toEqual(expected));

  test.each(['', 'host:', 'host:99999', 'a:b:c', '[::1'])('rejects %p', (text) => {
    expect(() => parseServerAddress(text)).toThrow(/expected host\[:port\]/);
  });
});
