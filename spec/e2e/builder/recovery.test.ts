import { describe, expect, test } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { useBuilderBed } from '../../support/builder-bed.ts';
import { tinyImage } from '../../support/builder-process.ts';
import { eventually } from '../../support/run.ts';

describe('a builder killed with SIGKILL in the middle of a build', () => {
  const bed = useBuilderBed(() => [tinyImage('tiny'), tinyImage('slow', { env: { TINY_ROOT_SLEEP: '30' } })].join('\n'));
  const { registered } = bed;

  test('after a restart staging is clean, the partial image has no functions, complete images are back', async () => {
    const { builder, client } = bed;
    await client.submit('image-build:tiny', JSON.stringify({ 'image-id': 'done-1' }), { timeoutMs: 120_000 });
    await client.submitBackground('image-build:slow', JSON.stringify({ 'image-id': 'partial-1' }));
    await eventually(() => existsSync(join(builder.imagesDir, 'staging', 'partial-1')), 30_000, 'the slow build to start');

    builder.signal('SIGKILL');
    await builder.exited();
    await eventually(async () => !(await registered()).includes('image-upload:done-1'), 10_000, 'the dead worker to be forgotten');

    await builder.start();
    await eventually(async () => (await registered()).includes('image-upload:done-1'), 20_000, 'the complete image to be registered');
    const live = await registered();
    expect(live).toContain('image-delete:done-1');
    expect(live.some((fn) => fn.endsWith(':partial-1'))).toBe(false);
    expect(builder.log()).toContain('removing the unfinished build partial-1');
    expect(existsSync(join(builder.imagesDir, 'images', 'partial-1'))).toBe(false);
    // gearmand requeued the killed build; the restarted builder runs it from scratch (beside its
    // staging directory, staging holds the record of its process group).
    await eventually(() => readdirSync(join(builder.imagesDir, 'staging')).filter((name) => !name.startsWith('.')).length <= 1);
  });
});
