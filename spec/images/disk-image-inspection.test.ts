import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskImageError, inspectDiskImage } from '../../src/images/disk-image-inspection.ts';
import { rejection } from '../support/rejection.ts';
import { run } from '../support/run.ts';

async function qemuImg(...args: string[]): Promise<void> {
  const result = await run('qemu-img', args, '', 60_000);
  if (result.code !== 0) throw new Error(`qemu-img ${args.join(' ')}: ${result.stderr}`);
}

const vmdkDescriptor = (extent: string) =>
  `# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW 8 FLAT "${extent}" 0\n\nddb.virtualHWVersion = "4"\n`;

describe('inspectDiskImage (real qemu-img)', () => {
  let dir: string;
  const at = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'inspect-image-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test('H1: self-contained images of every upload format pass', async () => {
    await qemuImg('create', '-q', '-f', 'qcow2', at('ok.qcow2'), '1M');
    await qemuImg('create', '-q', '-f', 'vmdk', at('ok.vmdk'), '1M');
    await qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=streamOptimized', at('stream.vmdk'), '1M');
    await qemuImg('create', '-q', '-f', 'vpc', at('ok.vhd'), '1M');
    await qemuImg('create', '-q', '-f', 'vhdx', at('ok.vhdx'), '1M');
    await writeFile(at('ok.raw'), Buffer.alloc(65536));
    for (const [file, format] of [
      ['ok.qcow2', 'qcow2'],
      ['ok.vmdk', 'vmdk'],
      ['stream.vmdk', 'vmdk'],
      ['ok.vhd', 'vhd'],
      ['ok.vhdx', 'vhdx'],
      ['ok.raw', 'raw'],
      ['ok.qcow2', 'tar'], // not a disk image format: nothing to follow
    ] as const) {
      await inspectDiskImage(at(file), format);
    }
  });

  test.each([
    ['a qcow2 backing file, even a relative one', 'UNSAFE_IMAGE', 'has a backing file (ok.raw)', async () => {
      await qemuImg('create', '-q', '-f', 'qcow2', '-b', 'ok.raw', '-F', 'raw', at('backed.qcow2'), '64K');
      return ['backed.qcow2', 'qcow2'] as const;
    }],
    ['a vmdk extent beside the descriptor', 'UNSAFE_IMAGE', 'has an extent in another file (', async () => {
      await writeFile(at('flat.vmdk'), vmdkDescriptor('ok.raw'));
      return ['flat.vmdk', 'vmdk'] as const;
    }],
    ['a qcow2 declared as vmdk', 'BAD_IMAGE', 'is not a readable vmdk image', async () => ['ok.qcow2', 'vmdk'] as const],
    ['a vmdk descriptor declared as raw', 'BAD_IMAGE', 'is declared raw but is a vmdk descriptor image', async () => {
      await writeFile(at('descriptor.raw'), vmdkDescriptor('/etc/passwd'));
      return ['descriptor.raw', 'raw'] as const;
    }],
    ['a vhd declared as raw', 'BAD_IMAGE', 'is declared raw but is a vhd image', async () => ['ok.vhd', 'raw'] as const],
  ])('H1: %s is refused', async (_, code, why, make) => {
    const [file, format] = await make();
    const err = await rejection(inspectDiskImage(at(file), format, { label: file }), DiskImageError);
    expect([err.code, err.message]).toEqual([code, expect.stringContaining(why)]);
  });

  test('H1: without a qemu-img the image is refused, not waved through', async () => {
    const err = await rejection(inspectDiskImage(at('ok.qcow2'), 'qcow2', { qemuImg: join(dir, 'no-such-qemu-img') }), DiskImageError);
    expect(err.code).toBe('INSPECT_FAILED');
  });
});
