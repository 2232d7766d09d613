import { expect, test } from 'bun:test';
import { Activity } from '../../src/dashboard/activity.ts';
import { freshness } from '../../src/dashboard/model.ts';

test("work in progress from the runner's events: progress and throughput between the first and the latest WORK_STATUS; an ended job leaves", () => {
  const activity = new Activity();
  const start = { id: 'u1', kind: 'upload' as const, functionName: 'image-upload:b1', startedAt: 1_000 };
  activity.jobStarted(start);
  activity.jobStarted({ id: 'b2', kind: 'build', functionName: 'image-build:debian', startedAt: 1_500 });
  expect(activity.running().find((j) => j.id === 'u1')).toMatchObject({ progress: undefined, perSecond: undefined });
  activity.jobProgress({ id: 'u1', kind: 'upload', numerator: 1_024, denominator: 10_240, at: 2_000 });
  activity.jobProgress({ id: 'u1', kind: 'upload', numerator: 5_120, denominator: 10_240, at: 4_000 });
  // A status of a job not (or no longer) running is dropped.
  activity.jobProgress({ id: 'gone', kind: 'upload', numerator: 1, denominator: 2, at: 4_000 });
  expect(activity.running().find((j) => j.id === 'u1')).toMatchObject({ progress: { numerator: 5_120, denominator: 10_240, at: 4_000 }, perSecond: 2_048 });
  const before = activity.version;
  activity.jobEnded({ ...start, outcome: { kind: 'complete', data: '{}' }, endedAt: 5_000 });
  expect(activity.running().map((j) => j.id)).toEqual(['b2']);
  expect(activity.version).toBeGreaterThan(before);
});

test("a running build's builder: unknown until the runner learns it (jobBuilder), then shown; a builder for a job not running is dropped", () => {
  const activity = new Activity();
  activity.jobStarted({ id: 'b1', kind: 'build', functionName: 'image-build:debian', startedAt: 1_000 });
  expect(activity.running()[0]?.builder).toBeUndefined();
  const before = activity.version;
  activity.jobBuilder({ id: 'b1', kind: 'build', builder: 'builder-2' });
  activity.jobBuilder({ id: 'gone', kind: 'build', builder: 'builder-3' });
  expect(activity.running().map((j) => [j.id, j.builder])).toEqual([['b1', 'builder-2']]);
  expect(activity.version).toBeGreaterThan(before);
});

test('freshness: fresh within rebuild-age, ageing up to twice it, stale beyond, none without a ready upload', () => {
  const day = 86_400_000;
  expect([freshness(day, day), freshness(day + 1, day), freshness(2 * day, day), freshness(2 * day + 1, day), freshness(undefined, day)]).toEqual(['fresh', 'ageing', 'ageing', 'stale', 'none']);
});
