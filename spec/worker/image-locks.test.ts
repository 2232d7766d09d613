import { describe, expect, test } from 'bun:test';
import { ImageLocks } from '../../src/worker/image-locks.ts';

describe('ImageLocks', () => {
  test('a delete waits for running uploads, and refuses new ones meanwhile', async () => {
    const locks = new ImageLocks();
    const releaseUpload = locks.beginUpload('img');
    let deleting = false;
    const deletion = locks.beginDelete('img', 5000).then((release) => {
      deleting = true;
      return release;
    });
    await Bun.sleep(20);
    expect(deleting).toBe(false);
    expect(() => locks.beginUpload('img')).toThrow('being deleted');
    releaseUpload();
    const release = await deletion;
    expect(deleting).toBe(true);
    release();
    expect(() => locks.beginUpload('img')()).not.toThrow();
  });

  test('a delete gives up after its timeout and the image is usable again', async () => {
    const locks = new ImageLocks();
    locks.beginUpload('img');
    await expect(locks.beginDelete('img', 50)).rejects.toThrow('still has 1 upload(s) running');
    expect(locks.isDeleting('img')).toBe(false);
  });
});
