import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmod, mkdtemp, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobFailure } from '../../src/errors/job-failure.ts';
import { createFormatConverter } from '../../src/uploaders/convert/format-converter.ts';
import type { ImageRecord } from '../../src/images/image-record.ts';
import { ImageRepository } from '../../src/images/repository.ts';
import { captureLogs } from '../support/log-capture.ts';
import { qemuImgInfo, seedQcow2Image } from '../support/openstack/seeded-image.ts';
import { eventually } from '../support/run.ts';

const MiB = 1024 * 1024;

describe('format conversion with qemu-img (the prepareFormat hook)', () => {
  let dir: string;
  let repository: ImageRepository;
  let seq = 0;
  const logs = captureLogs();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'convert-'));
    repository = new ImageRepository(join(dir, 'repo'), logs);
    await repository.recover();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** A qemu-img stand-in that records each convert run (and its pid) and can wait before the real one. */
  const wrapper = async (delaySeconds = 0) => {
    const name = `qemu-wrapper-${seq++}`;
    const path = join(dir, name);
    const runs = join(dir, `${name}.runs`);
    await writeFile(path, `#!/bin/sh\nif [ "$1" = convert ]; then echo $$ >> ${runs}; sleep ${delaySeconds}; fi\nexec qemu-img "$@"\n`);
    await chmod(path, 0o755);
    const pids = async () => (await readFile(runs, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);
    return { path, pids };
  };
  const seed = async (randomBytes = 2 * MiB) => (await seedQcow2Image(repository, `conv-${seq++}`, { randomBytes })).record;
  const signal = () => AbortSignal.timeout(60_000);
  const stagingLeftovers = async () => (await readdir(repository.stagingDir)).filter((n) => n.startsWith('.convert-'));

  test('converts once: a later upload reuses the recorded file without running qemu-img', async () => {
    const image = await seed();
    const qemu = await wrapper();
    const convert = createFormatConverter({ repository, logger: logs, qemuImg: qemu.path });
    const first = await convert(image, 'vhdx', signal());
    expect(first.formats.vhdx).toMatchObject({ file: 'tiny.vhdx', converted: true });
    expect(await qemuImgInfo(repository.pathOf(image.id, 'tiny.vhdx'))).toMatchObject({ format: 'vhdx', 'virtual-size': 2 * MiB });
    const again = await convert(image, 'vhdx', signal());
    expect(again.formats).toEqual(first.formats);
    expect(await qemu.pids()).toHaveLength(1);
    const metadata = JSON.parse(await readFile(repository.pathOf(image.id, 'metadata.json'), 'utf8')) as ImageRecord;
    expect(metadata.formats.vhdx).toEqual(first.formats.vhdx!);
  });

  test('concurrent uploads needing the same file share one qemu-img run; other formats convert beside it', async () => {
    const image = await seed();
    const qemu = await wrapper(0.3);
    const convert = createFormatConverter({ repository, logger: logs, qemuImg: qemu.path });
    const [a, b, c] = await Promise.all([convert(image, 'vmdk', signal()), convert(image, 'vmdk', signal()), convert(image, 'raw', signal())]);
    expect(a.formats.vmdk).toEqual(b.formats.vmdk!);
    expect(await qemu.pids()).toHaveLength(2);
    // Both updates of metadata.json survived: they were made one after the other.
    expect(Object.keys(repository.get(image.id)!.formats).sort()).toEqual(['qcow2', 'raw', 'vmdk']);
    expect(c.formats.raw?.size).toBe(2 * MiB);
    expect(await qemuImgInfo(repository.pathOf(image.id, 'tiny.vmdk'))).toMatchObject({ format: 'vmdk' });
  });

  test('an abort kills qemu-img and removes the half-written file', async () => {
    const image = await seed();
    const qemu = await wrapper(30);
    const convert = createFormatConverter({ repository, logger: logs, qemuImg: qemu.path });
    const stop = new AbortController();
    const running = convert(image, 'vhd', stop.signal);
    await eventually(async () => (await qemu.pids()).length === 1, 5_000, 'qemu-img to start');
    stop.abort(new Error('shutting down'));
    expect(await running.catch((e: Error) => e.message)).toBe('shutting down');
    const [pid] = await qemu.pids();
    await eventually(() => !alive(pid!), 5_000, 'qemu-img to be gone');
    await eventually(async () => (await stagingLeftovers()).length === 0, 5_000, 'the partial file to go');
    expect(repository.get(image.id)!.formats.vhd).toBeUndefined();
  });

  test('one upload giving up does not stop the conversion another still waits for', async () => {
    const image = await seed();
    const qemu = await wrapper(0.5);
    const convert = createFormatConverter({ repository, logger: logs, qemuImg: qemu.path });
    const impatient = new AbortController();
    const first = convert(image, 'raw', impatient.signal);
    const second = convert(image, 'raw', signal());
    impatient.abort(new Error('timed out'));
    expect(await first.catch((e: Error) => e.message)).toBe('timed out');
    expect((await second).formats.raw).toMatchObject({ converted: true });
    expect(await qemu.pids()).toHaveLength(1);
  });

  test('a failed conversion is a WORK_FAIL with qemu-img\'s reason, and leaves nothing behind', async () => {
    const image = await seed();
    // Its header is sound (qemu-img info passes), but its first L2 table offset is unaligned: convert fails reading it.
    const file = await open(repository.pathOf(image.id, 'tiny.qcow2'), 'r+');
    const header = Buffer.alloc(48);
    await file.read(header, 0, 48, 0);
    const l1 = Buffer.alloc(8);
    l1.writeBigUInt64BE(0x8000000000000200n);
    await file.write(l1, 0, 8, Number(header.readBigUInt64BE(40)));
    await file.close();
    const convert = createFormatConverter({ repository, logger: logs });
    const failure = (await convert(image, 'raw', signal()).catch((e: unknown) => e)) as JobFailure;
    expect(failure).toBeInstanceOf(JobFailure);
    expect(failure.code).toBe('CONVERT_FAILED');
    expect(failure.message).toContain('qemu-img convert');
    expect(failure.message).toContain('Input/output error');
    expect(await stagingLeftovers()).toEqual([]);
  });

  test('an image without a disk format qemu-img reads is a WORK_FAIL', async () => {
    const image = await seed();
    const tarOnly: ImageRecord = { ...image, formats: { tar: image.formats.qcow2! } };
    await repository.update(tarOnly);
    const convert = createFormatConverter({ repository, logger: logs });
    const failure = (await convert(tarOnly, 'raw', signal()).catch((e: unknown) => e)) as JobFailure;
    expect(failure.code).toBe('NO_FORMAT');
    expect(failure.message).toContain('it has tar');
  });

  test('H1: a source with a backing file is refused before qemu-img convert runs, and nothing is written', async () => {
    const image = await seed();
    const qemu = await wrapper();
    const source = repository.pathOf(image.id, 'tiny.qcow2');
    const created = Bun.spawnSync(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', source, '1M']);
    expect(created.exitCode).toBe(0);
    const convert = createFormatConverter({ repository, logger: logs, qemuImg: qemu.path });
    const failure = (await convert(image, 'raw', signal()).catch((e: unknown) => e)) as JobFailure;
    expect([failure.code, failure.message]).toEqual(['UNSAFE_IMAGE', expect.stringContaining('has a backing file (/etc/passwd)')]);
    expect(await qemu.pids()).toEqual([]);
    expect(await stagingLeftovers()).toEqual([]);
    expect(await readdir(join(repository.imagesDir, image.id))).not.toContain('tiny.raw');
  });

  test('image-delete removes converted files with the image directory', async () => {
    const image = await seed();
    await createFormatConverter({ repository, logger: logs })(image, 'raw', signal());
    await repository.delete(image.id);
    expect(await readdir(repository.imagesDir)).not.toContain(image.id);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
