import { expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** src/api imports downward only: scheduler, config, images, errors, util, and node built-ins. */
const ALLOWED = /^(\.\/|\.\.\/(scheduler|config|images|errors|util)\/|node:)/;

test('src/api imports nothing from cli, worker, builders, uploaders or protocol', () => {
  const dir = 'src/api';
  const offending: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const [, from] of text.matchAll(/\bfrom\s+'([^']+)'/g)) if (!ALLOWED.test(from!)) offending.push(`${file}: ${from}`);
    for (const [, from] of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) if (!ALLOWED.test(from!)) offending.push(`${file}: import(${from})`);
  }
  expect(offending).toEqual([]);
});
