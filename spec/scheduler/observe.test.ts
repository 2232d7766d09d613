import { describe, expect, test } from 'bun:test';
import { AbsenceClock, PassCounter, builderOf, observeFunctions } from '../../src/scheduler/observe.ts';

describe('what the workers listings say', () => {
  test('builds, diskimages and provider credentials per builder, merged over job servers', () => {
    const seen = observeFunctions([
      [
        { clientId: 'builder-1/build', functions: ['image-build:debian', 'image-build:centos'] },
        { clientId: 'builder-1/upload', functions: ['image-upload:b1', 'image-delete:b1', 'provider-image-list:p1', 'provider-image-delete:p1', 'provider-image-list:p2'] },
        { clientId: '-', functions: [] },
      ],
      [
        { clientId: 'builder-2/upload', functions: ['image-upload:b1', 'image-upload:b2', 'provider-image-list:p2', 'provider-image-delete:p2'] },
        { clientId: 'builder-1/upload', functions: ['image-upload:b1'] },
        { clientId: 'odd', functions: ['image-upload:', 'echo'] },
      ],
    ]);
    expect(seen.builds).toEqual(new Map([['b1', ['builder-1', 'builder-2']], ['b2', ['builder-2']]]));
    expect(seen.buildersByDiskimage).toEqual(new Map([['debian', ['builder-1']], ['centos', ['builder-1']]]));
    // builder-1 lists p2 but cannot delete there: it is no cloud worker of p2.
    expect(seen.cloudBuilders).toEqual(new Map([['p1', ['builder-1']], ['p2', ['builder-2']]]));
  });

  test('a builder is its client id without the connection suffix', () => {
    expect([builderOf('b/build'), builderOf('b/upload'), builderOf('b'), builderOf('a/b/upload')]).toEqual(['b', 'b', 'b', 'a/b']);
    // provider-image-list/-delete come on a connection of their own.
    expect(builderOf('b/cloud')).toBe('b');
  });
});

describe('AbsenceClock', () => {
  test('dates an absence from the first pass that saw it, never before the clock started, and forgets it once present', () => {
    const clock = new AbsenceClock(1_000);
    const present = (...ids: string[]) => new Map(ids.map((id) => [id, true]));
    expect(clock.observe(['a', 'b'], present('a'), 1_000)).toEqual(new Map([['b', 1_000]]));
    expect(clock.observe(['a', 'b'], present(), 2_000)).toEqual(new Map([['a', 2_000], ['b', 1_000]]));
    expect(clock.observe(['a', 'b'], present('b'), 3_000)).toEqual(new Map([['a', 2_000]]));
    expect(clock.observe(['a', 'b'], present(), 4_000)).toEqual(new Map([['a', 2_000], ['b', 4_000]]));
    // An id no longer watched (its record moved on) is forgotten.
    expect(clock.observe(['b'], present(), 5_000)).toEqual(new Map([['b', 4_000]]));
    expect(new AbsenceClock(10_000).observe(['a'], present(), 9_000)).toEqual(new Map([['a', 10_000]]));
  });
});

describe('PassCounter', () => {
  const image = (externalId: string) => ({ externalId, uploadId: undefined, status: 'active' });

  test('counts sweeps in a row per provider; an image missing from one sweep starts again at 1', () => {
    const counter = new PassCounter();
    expect(counter.sweep('p1', [image('x'), image('y')])?.map((i) => [i.externalId, i.passes])).toEqual([['x', 1], ['y', 1]]);
    expect(counter.sweep('p2', [image('x')])?.map((i) => i.passes)).toEqual([1]);
    expect(counter.sweep('p1', [image('x')])?.map((i) => [i.externalId, i.passes])).toEqual([['x', 2]]);
    expect(counter.sweep('p1', [image('x'), image('y')])?.map((i) => [i.externalId, i.passes])).toEqual([['x', 3], ['y', 1]]);
  });

  test('a failed listing breaks the row: nothing is a leak on a count that skipped a sweep', () => {
    const counter = new PassCounter();
    counter.sweep('p1', [image('x')]);
    expect(counter.sweep('p1', undefined)).toBeUndefined();
    expect(counter.sweep('p1', [image('x')])?.[0]?.passes).toBe(1);
  });

  test('an image listed twice in one sweep counts once', () => {
    const counter = new PassCounter();
    expect(counter.sweep('p1', [image('x'), image('x')])?.map((i) => i.passes)).toEqual([1, 1]);
  });
});
