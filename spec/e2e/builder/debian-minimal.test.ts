import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '../../../src/protocol/client/client.ts';
import { type BuilderProcess, startBuilder } from '../../support/builder-process.ts';
import { aptMirrors } from '../../support/debian-mirror.ts';
import { type Gearmand, startGearmand } from '../../support/gearmand.ts';
import { run } from '../../support/run.ts';

// One real debian-minimal bookworm build, from the mirror this machine's apt uses. It proves
// the real DIB path end to end; every other builder test uses the tiny element.
describe('a real debian-minimal qcow2 build', () => {
  let gearmand: Gearmand;
  let builder: BuilderProcess;

  beforeAll(async () => {
    const { main, security } = aptMirrors();
    const sources = [`default:deb ${main} bookworm main`, `updates:deb ${main} bookworm-updates main`, `security:deb ${security} bookworm-security main`];
    gearmand = await startGearmand();
    const cache = join(process.env.TMPDIR ?? '/tmp', 'nodepool-builder-dib-cache');
    mkdirSync(cache, { recursive: true });
    builder = await startBuilder(
      gearmand,
      [
        `dib-image-cache = "${cache}"`,
        '[[diskimages]]',
        'name = "debian-bookworm"',
        'elements = ["debian-minimal"]',
        'release = "bookworm"',
        'formats = ["qcow2"]',
        // Shell tracing (-x) makes DIB several times slower here; one build with it would not fit CI.
        'dib-trace = false',
        'no-tmpfs = true',
        'build-timeout = "25m"',
        `env-vars = { DIB_DISTRIBUTION_MIRROR = "${main}", DIB_APT_SOURCES_CONF = ${JSON.stringify(sources.join('\n'))} }`,
      ].join('\n'),
      ['image-build:debian-bookworm'],
    );
  });

  afterAll(async () => {
    await builder[Symbol.asyncDispose]();
    await gearmand.kill();
  });

  test('builds, verifies and registers a bootable-size qcow2', async () => {
    const client = new Client({ servers: [gearmand] });
    const result = await client.submit('image-build:debian-bookworm', '{"image-id":"bookworm-1"}', { timeoutMs: 26 * 60_000 });
    await client.close();
    expect(JSON.parse(Buffer.from(result.data).toString())['image-id']).toBe('bookworm-1');
    const file = join(builder.imagesDir, 'images', 'bookworm-1', 'debian-bookworm.qcow2');
    const info = JSON.parse((await run('qemu-img', ['info', '--output=json', file])).stdout);
    expect(info.format).toBe('qcow2');
    expect(info['actual-size']).toBeGreaterThan(100 * 1024 * 1024);
  }, 27 * 60_000);
});
