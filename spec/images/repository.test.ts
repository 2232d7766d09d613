import { beforeEach, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageRecord } from '../../src/images/image-record.ts';
import { ImageRepository } from '../../src/images/repository.ts';
import { captureLogs } from '../support/log-capture.ts';

const record = (id: string): ImageRecord => ({
  id,
  name: 'tiny',
  formats: { qcow2: { file: 'tiny.qcow2', size: 3, md5: 'ab', sha256: 'cd' } },
  build: { builder: 'dib', builderVersion: '3.13.0', host: 'h', started: 'a', finished: 'b', log: '/x.log' },
});

describe('ImageRepository', () => {
  let root: string;
  let repository: ImageRepository;
  const logs = captureLogs();

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'repository-'));
    repository = new ImageRepository(root, logs);
    await repository.recover();
  });

  const commit = async (id: string) => {
    const staging = await repository.stage(id);
    writeFileSync(join(staging.dir, 'tiny.qcow2'), 'abc');
    await repository.commit(staging, record(id));
  };

  test('an image appears only once committed, and recover() finds it again', async () => {
    const staging = await repository.stage('img-1');
    expect(repository.get('img-1')).toBeUndefined();
    expect(existsSync(join(root, 'images', 'img-1'))).toBe(false);
    writeFileSync(join(staging.dir, 'tiny.qcow2'), 'abc');
    await repository.commit(staging, record('img-1'));
    expect(readdirSync(join(root, 'images', 'img-1')).sort()).toEqual(['metadata.json', 'tiny.qcow2']);
    const again = new ImageRepository(root, logs);
    expect((await again.recover()).map((r) => r.id)).toEqual(['img-1']);
  });

  test('recover() removes staging leftovers and ignores directories with bad metadata', async () => {
    mkdirSync(join(root, 'staging', 'crashed-1'));
    writeFileSync(join(root, 'staging', 'crashed-1', 'half.qcow2'), 'x');
    mkdirSync(join(root, 'images', 'no-metadata'));
    mkdirSync(join(root, 'images', 'bad-metadata'));
    writeFileSync(join(root, 'images', 'bad-metadata', 'metadata.json'), '{"id":"someone-else"}');
    await commit('good-1');
    expect((await new ImageRepository(root, logs).recover()).map((r) => r.id)).toEqual(['good-1']);
    expect(readdirSync(join(root, 'staging'))).toEqual([]);
    expect(logs.at('warn').some((l) => l.includes('removing the unfinished build crashed-1'))).toBe(true);
    expect(logs.at('warn').some((l) => l.includes('ignoring image bad-metadata'))).toBe(true);
  });

  test('an id that exists, or is being built, cannot be staged again', async () => {
    await commit('img-2');
    await expect(repository.stage('img-2')).rejects.toThrow('image id exists: img-2');
    await repository.stage('img-3');
    await expect(repository.stage('img-3')).rejects.toThrow('image id exists: img-3 (building)');
  });

  test.each(['../etc', 'a/b', '.hidden', '', 'x'.repeat(129)])('the id %p is refused before touching the disk', async (id) => {
    await expect(repository.stage(id)).rejects.toThrow('invalid image id');
    await expect(repository.delete(id)).rejects.toThrow('invalid image id');
  });

  test('delete removes every file and is idempotent', async () => {
    await commit('img-4');
    expect(await repository.delete('img-4')).toBe(true);
    expect(existsSync(join(root, 'images', 'img-4'))).toBe(false);
    expect(readdirSync(join(root, 'trash'))).toEqual([]);
    expect(repository.get('img-4')).toBeUndefined();
    expect(await repository.delete('img-4')).toBe(false);
  });
});
