import { expect, test } from 'bun:test';
import { isLoopback } from '../../src/cli/loopback.ts';

test.each([
  ['127.0.0.1', true],
  ['127.1.2.3', true],
  ['localhost', true],
  ['::1', true],
  ['[::1]', true],
  ['::ffff:127.0.0.1', true],
  ['0.0.0.0', false],
  ['::', false],
  ['10.0.0.5', false],
  ['::ffff:10.0.0.5', false],
  ['gearman.example.org', false],
  ['127.0.0.1.example.org', false],
])('isLoopback(%p) is %p: geard serves a non-loopback address in clear text only with --insecure-listen', (host, expected) => {
  expect(isLoopback(host)).toBe(expected);
});
