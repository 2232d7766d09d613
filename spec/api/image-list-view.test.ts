/** GET /image-list's rendering, kept per listing between requests: the same bytes as rendering each time, ages of the moment. */
import { describe, expect, test } from 'bun:test';
import { age, textTable } from '../../src/api/text-table.ts';
import { imageList } from '../../src/api/views.ts';
import type { ListedUpload } from '../../src/scheduler/state-store.ts';

const T0 = Date.UTC(2026, 0, 1);

function upload(i: number, parts: Partial<ListedUpload> = {}): ListedUpload {
  return {
    id: `u${i}`,
    buildId: `b${i}`,
    provider: 'p1',
    diskimage: 'debian',
    state: 'ready',
    externalId: `ext-${i}`,
    externalName: `debian-${i}`,
    createdAt: T0 + i,
    stateAt: T0 + i * 61_000,
    readyAt: T0 + i * 61_000,
    reason: undefined,
    ...parts,
  };
}

const uploads: readonly ListedUpload[] = [
  upload(0),
  upload(1, { state: 'failed', reason: 'Glance said "503"\n\u001b[31mred\u001b[0m', externalId: undefined }),
  upload(2, { externalName: 'naïve 🚀 "quoted" \\ back\u2028slash', state: 'uploading', readyAt: undefined }),
  upload(3, { externalName: undefined, provider: 'p-with-a-long-name' }),
];

describe('image-list rendered once per listing', () => {
  test('the JSON text is JSON.stringify of the rows, for every now', () => {
    for (const now of [T0 + 500_000, T0 + 9 * 86_400_000]) {
      const view = imageList(uploads, now);
      expect(view.jsonText!()).toBe(JSON.stringify(view.json()));
    }
  });

  test("the text table is textTable of the rows, with each request's ages", () => {
    for (const now of [T0 + 500_000, T0 + 2 * 86_400_000 + 7_000]) {
      const expected = textTable(
        ['Build ID', 'Upload ID', 'Provider', 'Image', 'Provider Image Name', 'Provider Image ID', 'State', 'Age'],
        uploads.map((u) => [u.buildId, u.id, u.provider, u.diskimage, u.externalName ?? '', u.externalId ?? '', u.state, age(now - u.stateAt)]),
      );
      expect(imageList(uploads, now).text()).toBe(expected);
    }
  });

  test('a new listing (after a commit) shows every changed row, reusing none of its old rendering', () => {
    const now = T0 + 86_400_000;
    expect(imageList(uploads, now).jsonText!()).toBe(JSON.stringify(imageList(uploads, now).json()));
    const changed = uploads.map((u, i) =>
      i === 1 ? { ...u, state: 'ready' as const, reason: undefined, externalId: 'ext-1' } : i === 3 ? { ...u, provider: 'p2' } : { ...u },
    );
    const view = imageList(changed, now);
    expect(view.jsonText!()).toBe(JSON.stringify(view.json()));
    expect(view.text()).toContain('ext-1');
    expect(view.text().split('\n')[4]).toContain('p2');
  });
});
