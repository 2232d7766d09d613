/** The planner's rules (issue 14 §2 and §4), one table row or test per rule, without any server. */
import { describe, expect, test } from 'bun:test';
import { parseConfig } from '../../src/config/load.ts';
import type { Action, Wait } from '../../src/scheduler/actions.ts';
import { type PlanConfig, planConfig } from '../../src/scheduler/plan-config.ts';
import { plan } from '../../src/scheduler/planner.ts';
import type { SchedulerState } from '../../src/scheduler/state.ts';
import type { World } from '../../src/scheduler/world.ts';
import { DAY, HOUR, MINUTE, NOW, agreeingWorld, build, only, planConfigWith, ready, stateOf, upload, withImages } from './support/plan-fixtures.ts';

interface Case {
  readonly name: string;
  readonly state: SchedulerState;
  readonly config?: PlanConfig;
  /** Changes to the agreeing world. */
  readonly world?: (world: World) => World;
  /** The actions expected, of the kinds they name (other kinds are not compared). */
  readonly actions: readonly Action[];
  readonly waits?: readonly Wait[];
}

function check(c: Case): void {
  const config = c.config ?? planConfigWith();
  const base = agreeingWorld(c.state, config);
  const world = c.world ? c.world(base) : base;
  const result = plan(c.state, config, world, NOW);
  const kinds = [...new Set(c.actions.map((a) => a.kind))];
  expect(kinds.length > 0 ? only(result.actions, ...kinds) : result.actions).toEqual([...c.actions]);
  if (c.waits) expect(result.waits).toEqual([...c.waits]);
}

/** Both diskimages fresh and uploaded to both providers: nothing to do. */
const settled = (): SchedulerState =>
  stateOf({
    builds: [ready('d1', 'debian', NOW - HOUR), ready('c1', 'centos', NOW - HOUR)],
    uploads: [
      upload('d1-p1', 'd1', 'p1', 'ready', NOW - HOUR),
      upload('d1-p2', 'd1', 'p2', 'ready', NOW - HOUR),
      upload('c1-p1', 'c1', 'p1', 'ready', NOW - HOUR),
      upload('c1-p2', 'c1', 'p2', 'ready', NOW - HOUR),
    ],
  });

const withSettled = (parts: Partial<SchedulerState>): SchedulerState => {
  const s = settled();
  return stateOf({ ...s, ...parts, builds: [...s.builds, ...(parts.builds ?? [])], uploads: [...s.uploads, ...(parts.uploads ?? [])] });
};

const noWaits: readonly Wait[] = [];

describe('a settled system', () => {
  test('plans nothing and waits on nothing', () => check({ name: 'settled', state: settled(), actions: [], waits: noWaits }));
});

describe('build', () => {
  test.each<Case>([
    {
      name: 'a diskimage with no build at all is built',
      state: stateOf({ builds: [ready('c1', 'centos', NOW - HOUR)] }),
      actions: [{ kind: 'start-build', diskimage: 'debian', why: 'no-ready-build' }],
    },
    {
      name: 'a diskimage whose builds all failed is built',
      state: stateOf({ builds: [build('d0', 'debian', 'failed', undefined), ready('c1', 'centos', NOW - HOUR)] }),
      actions: [{ kind: 'start-build', diskimage: 'debian', why: 'no-ready-build' }],
    },
    {
      name: 'the newest ready build exactly rebuild-age old is rebuilt',
      state: stateOf({ builds: [ready('d1', 'debian', NOW - DAY), ready('c1', 'centos', NOW - DAY + 1)] }),
      actions: [{ kind: 'start-build', diskimage: 'debian', why: 'too-old' }],
    },
    {
      name: 'rebuild-age is per diskimage',
      state: settled(),
      config: planConfigWith({ diskimages: [{ name: 'debian', rebuildAgeMs: 30 * MINUTE, pause: false }, { name: 'centos', rebuildAgeMs: DAY, pause: false }] }),
      actions: [{ kind: 'start-build', diskimage: 'debian', why: 'too-old' }],
    },
    {
      name: 'the age is the newest ready build’s, not an older one’s',
      state: stateOf({ builds: [ready('d0', 'debian', NOW - 3 * DAY), ready('d1', 'debian', NOW - HOUR), ready('c1', 'centos', NOW - HOUR)] }),
      actions: [],
    },
    {
      name: 'an operator request builds a fresh diskimage',
      state: withSettled({ buildRequests: [{ diskimage: 'centos', requestedAt: NOW - 1 }] }),
      actions: [{ kind: 'start-build', diskimage: 'centos', why: 'requested' }],
    },
    {
      name: 'a request is not put off by the backoff',
      state: withSettled({
        buildRequests: [{ diskimage: 'centos', requestedAt: NOW - 1 }],
        backoffs: [{ diskimage: 'centos', provider: undefined, failures: 3, failedAt: NOW - 1, retryAt: NOW + HOUR, reason: 'dib exited 1' }],
      }),
      actions: [{ kind: 'start-build', diskimage: 'centos', why: 'requested' }],
    },
    {
      name: 'invariant 4: no second build while one runs, too old or requested as it may be',
      state: stateOf({
        builds: [ready('d1', 'debian', NOW - 2 * DAY), build('d2', 'debian', 'building', undefined), build('c2', 'centos', 'building', undefined)],
        buildRequests: [{ diskimage: 'centos', requestedAt: NOW - 1 }],
      }),
      world: (w) => ({ ...w, inFlight: new Set(['d2', 'c2']) }),
      actions: [],
    },
    {
      name: 'a newest build gone missing is rebuilt',
      state: stateOf({ builds: [ready('d0', 'debian', NOW - 2 * HOUR), build('d1', 'debian', 'missing', NOW - HOUR), ready('c1', 'centos', NOW - HOUR)] }),
      actions: [{ kind: 'start-build', diskimage: 'debian', why: 'missing' }],
    },
    {
      name: 'a missing build older than a ready one is not rebuilt',
      state: stateOf({ builds: [build('d0', 'debian', 'missing', NOW - 2 * HOUR), ready('d1', 'debian', NOW - HOUR), ready('c1', 'centos', NOW - HOUR)] }),
      actions: [],
    },
  ])('$name', (c) => {
    const config = c.config ?? planConfigWith();
    const base = agreeingWorld(c.state, config);
    const result = plan(c.state, config, c.world ? c.world(base) : base, NOW);
    expect(only(result.actions, 'start-build')).toEqual([...c.actions]);
  });

  test('invariant 4: planning never starts a build of a diskimage with one running (whatever else is due)', () => {
    const state = stateOf({ builds: [build('d2', 'debian', 'building', undefined)], buildRequests: [{ diskimage: 'debian', requestedAt: NOW }] });
    const config = planConfigWith();
    const result = plan(state, config, agreeingWorld(state, config, { inFlight: new Set(['d2']) }), NOW);
    expect(only(result.actions, 'start-build')).toEqual([{ kind: 'start-build', diskimage: 'centos', why: 'no-ready-build' }]);
  });

  test.each<Case>([
    {
      name: 'a paused diskimage (config) is not built, and waits as paused',
      state: stateOf({ builds: [ready('c1', 'centos', NOW - HOUR)] }),
      config: planConfigWith({ diskimages: [{ name: 'debian', rebuildAgeMs: DAY, pause: true }, { name: 'centos', rebuildAgeMs: DAY, pause: false }] }),
      actions: [],
      waits: [{ diskimage: 'debian', provider: undefined, why: 'paused', until: undefined }],
    },
    {
      name: 'a paused diskimage (image-pause) is not built, even when asked',
      state: stateOf({ builds: [ready('c1', 'centos', NOW - HOUR)], pauses: [{ diskimage: 'debian', provider: undefined, pausedAt: 1 }], buildRequests: [{ diskimage: 'debian', requestedAt: 2 }] }),
      actions: [],
      waits: [{ diskimage: 'debian', provider: undefined, why: 'paused', until: undefined }],
    },
    {
      name: 'a failed build waits out its backoff',
      state: stateOf({ builds: [ready('c1', 'centos', NOW - HOUR)], backoffs: [{ diskimage: 'debian', provider: undefined, failures: 2, failedAt: NOW - MINUTE, retryAt: NOW + MINUTE, reason: 'dib exited 1' }] }),
      actions: [],
      waits: [{ diskimage: 'debian', provider: undefined, why: 'backoff', until: NOW + MINUTE }],
    },
    {
      name: 'once the backoff is over, it is built',
      state: stateOf({ builds: [ready('c1', 'centos', NOW - HOUR)], backoffs: [{ diskimage: 'debian', provider: undefined, failures: 2, failedAt: NOW - MINUTE, retryAt: NOW, reason: 'dib exited 1' }] }),
      actions: [{ kind: 'start-build', diskimage: 'debian', why: 'no-ready-build' }],
    },
    {
      name: 'a diskimage no builder registers image-build:<name> for is not submitted',
      state: stateOf({ builds: [ready('c1', 'centos', NOW - HOUR)] }),
      world: (w) => ({ ...w, buildersByDiskimage: new Map([['centos', ['builder-1']]]) }),
      actions: [],
      waits: [{ diskimage: 'debian', provider: undefined, why: 'no-builder', until: undefined }],
    },
  ])('$name', (c) => {
    const config = c.config ?? planConfigWith();
    const base = agreeingWorld(c.state, config);
    const result = plan(c.state, config, c.world ? c.world(base) : base, NOW);
    expect(only(result.actions, 'start-build')).toEqual([...c.actions]);
    expect(result.waits.filter((w) => w.diskimage === 'debian' && w.provider === undefined)).toEqual([...(c.waits ?? [])]);
  });

  test.each<Case>([
    {
      name: 'a build recorded as building with no job running here is submitted again (same id)',
      state: stateOf({ builds: [build('d2', 'debian', 'building', undefined)] }),
      actions: [{ kind: 'resume-build', buildId: 'd2', diskimage: 'debian' }],
    },
    {
      name: 'a build recorded as building whose job runs here is left to it',
      state: stateOf({ builds: [build('d2', 'debian', 'building', undefined)] }),
      world: (w) => ({ ...w, inFlight: new Set(['d2']) }),
      actions: [],
    },
    {
      name: 'a build recorded as building that a builder registers is adopted: it ended while the scheduler was away',
      state: stateOf({ builds: [build('d2', 'debian', 'building', undefined)] }),
      world: (w) => ({ ...w, builds: new Map([['d2', { builders: ['builder-2'], diskimage: 'debian', formats: ['qcow2', 'raw'] }]]) }),
      actions: [{ kind: 'adopt-build', buildId: 'd2', diskimage: 'debian', builder: 'builder-2', formats: ['qcow2', 'raw'] }],
    },
    {
      name: 'a build recorded as failed that a builder registers is adopted: its result was lost, the image was kept',
      state: stateOf({ builds: [build('d2', 'debian', 'failed', undefined)] }),
      world: (w) => ({ ...w, builds: new Map([['d2', { builders: ['builder-1'], diskimage: 'debian', formats: ['qcow2'] }]]) }),
      actions: [{ kind: 'adopt-build', buildId: 'd2', diskimage: 'debian', builder: 'builder-1', formats: ['qcow2'] }],
    },
    {
      name: 'a missing build whose host came back is adopted',
      state: stateOf({ builds: [build('d2', 'debian', 'missing', NOW - HOUR)] }),
      world: (w) => ({ ...w, builds: new Map([['d2', { builders: ['builder-1'], diskimage: 'debian', formats: ['qcow2'] }]]) }),
      actions: [{ kind: 'adopt-build', buildId: 'd2', diskimage: 'debian', builder: 'builder-1', formats: ['qcow2'] }],
    },
    {
      name: 'a build made by a direct image-build (unknown to the state) of a configured diskimage is adopted',
      state: settled(),
      world: (w) => ({ ...w, builds: new Map([...w.builds, ['0000000001', { builders: ['builder-2'], diskimage: 'debian', formats: ['qcow2'] }]]) }),
      actions: [{ kind: 'adopt-build', buildId: '0000000001', diskimage: 'debian', builder: 'builder-2', formats: ['qcow2'] }],
    },
    {
      name: 'an unknown build of a diskimage the file does not drive, or of no known diskimage, is left alone',
      state: settled(),
      world: (w) => ({
        ...w,
        builds: new Map([...w.builds, ['x1', { builders: ['builder-2'], diskimage: 'fedora', formats: ['qcow2'] }], ['x2', { builders: ['builder-2'], diskimage: undefined, formats: [] }]]),
      }),
      actions: [],
    },
  ])('$name', (c) => {
    const config = c.config ?? planConfigWith();
    const base = agreeingWorld(c.state, config);
    const result = plan(c.state, config, c.world ? c.world(base) : base, NOW);
    expect(only(result.actions, 'resume-build', 'adopt-build')).toEqual([...c.actions]);
  });
});

test('a direct image-build of a diskimage with no ready build is adopted, and no second build of it is started in the same pass', () => {
  const state = stateOf({ builds: [ready('c1', 'centos', NOW - HOUR)] });
  const config = planConfigWith();
  const base = agreeingWorld(state, config);
  const world = { ...base, builds: new Map([...base.builds, ['0000000001', { builders: ['builder-1'], diskimage: 'debian', formats: ['qcow2'] }]]) };
  const result = plan(state, config, world, NOW);
  expect(only(result.actions, 'adopt-build', 'start-build')).toEqual([{ kind: 'adopt-build', buildId: '0000000001', diskimage: 'debian', builder: 'builder-1', formats: ['qcow2'] }]);
  // And it is uploaded like any ready build.
  expect(only(result.actions, 'start-upload').filter((a) => a.kind === 'start-upload' && a.diskimage === 'debian')).toEqual([
    { kind: 'start-upload', buildId: '0000000001', diskimage: 'debian', provider: 'p1' },
    { kind: 'start-upload', buildId: '0000000001', diskimage: 'debian', provider: 'p2' },
  ]);
});

test('a direct image-build made longer than rebuild-age ago is adopted with its build time, and a rebuild starts in the same pass', () => {
  const state = stateOf({ builds: [ready('c1', 'centos', NOW - HOUR)] });
  const config = planConfigWith();
  const base = agreeingWorld(state, config);
  const old = { builders: ['builder-1'], diskimage: 'debian', formats: ['qcow2'], builtAt: NOW - 2 * DAY };
  const result = plan(state, config, { ...base, builds: new Map([...base.builds, ['0000000001', old]]) }, NOW);
  expect(only(result.actions, 'adopt-build', 'start-build')).toEqual([
    { kind: 'adopt-build', buildId: '0000000001', diskimage: 'debian', builder: 'builder-1', formats: ['qcow2'], builtAt: NOW - 2 * DAY },
    { kind: 'start-build', diskimage: 'debian', why: 'too-old' },
  ]);
});

test('adopted direct builds beyond keep-builds: the older ready build goes by the keep rules', () => {
  const state = stateOf({ builds: [ready('d1', 'debian', NOW - 2 * HOUR), ready('c1', 'centos', NOW - HOUR)] });
  const config = planConfigWith({ keepBuilds: 1 });
  const base = agreeingWorld(state, config);
  const world = { ...base, builds: new Map([...base.builds, ['0000000001', { builders: ['builder-1'], diskimage: 'debian', formats: ['qcow2'] }]]) };
  const result = plan(state, config, world, NOW);
  expect(only(result.actions, 'adopt-build', 'start-build', 'delete-build')).toEqual([
    { kind: 'adopt-build', buildId: '0000000001', diskimage: 'debian', builder: 'builder-1', formats: ['qcow2'] },
    { kind: 'delete-build', buildId: 'd1', diskimage: 'debian', why: 'superseded' },
  ]);
});

describe('upload', () => {
  test('the newest ready build goes to every provider that lists its diskimage, and only there', () => {
    const state = stateOf({ builds: [ready('d0', 'debian', NOW - 2 * HOUR), ready('d1', 'debian', NOW - HOUR)] });
    const config = planConfigWith({
      diskimages: [{ name: 'debian', rebuildAgeMs: DAY, pause: false }],
      providers: [
        { name: 'p1', diskimages: [{ name: 'debian', pause: false }] },
        { name: 'p2', diskimages: [] },
        { name: 'p3', diskimages: [{ name: 'debian', pause: false }] },
      ],
    });
    const result = plan(state, config, agreeingWorld(state, config), NOW);
    expect(only(result.actions, 'start-upload')).toEqual([
      { kind: 'start-upload', buildId: 'd1', diskimage: 'debian', provider: 'p1' },
      { kind: 'start-upload', buildId: 'd1', diskimage: 'debian', provider: 'p3' },
    ]);
  });

  test('a provider with no diskimages key takes every diskimage of the file; [] takes none', () => {
    const file = parseConfig(
      '[[diskimages]]\nname = "debian"\nelements = ["vm"]\n[[diskimages]]\nname = "centos"\nelements = ["vm"]\npause = true\n' +
        '[[providers]]\nname = "all"\n[[providers]]\nname = "none"\ndiskimages = []\n[[providers]]\nname = "one"\ndiskimages = [{ name = "centos", pause = true }]\n[scheduler]\n',
      '/x.toml',
    );
    const config = planConfig(file, file.scheduler!);
    expect(config.providers).toEqual([
      { name: 'all', diskimages: [{ name: 'debian', pause: false }, { name: 'centos', pause: false }] },
      { name: 'none', diskimages: [] },
      { name: 'one', diskimages: [{ name: 'centos', pause: true }] },
    ]);
    expect(config.diskimages).toEqual([
      { name: 'debian', rebuildAgeMs: DAY, pause: false },
      { name: 'centos', rebuildAgeMs: DAY, pause: true },
    ]);
    expect(config).toMatchObject({ keepBuilds: 2, keepUploads: 2, leakPasses: 2, missingBuildGraceMs: 10 * MINUTE });
  });

  test.each<Case>([
    {
      name: 'an upload already running or ready there is not started again',
      state: stateOf({ builds: [ready('d1', 'debian', NOW - HOUR)], uploads: [upload('u1', 'd1', 'p1', 'uploading'), upload('u2', 'd1', 'p2', 'ready', NOW - MINUTE)] }),
      world: (w) => ({ ...w, inFlight: new Set(['u1']) }),
      actions: [],
    },
    {
      name: 'a failed upload is tried again (a new upload) once the backoff allows',
      state: stateOf({ builds: [ready('d1', 'debian', NOW - HOUR)], uploads: [upload('u1', 'd1', 'p1', 'failed'), upload('u2', 'd1', 'p2', 'ready', NOW - MINUTE)] }),
      actions: [{ kind: 'start-upload', buildId: 'd1', diskimage: 'debian', provider: 'p1' }],
    },
    {
      name: 'an older ready build is not uploaded when a newer one is ready',
      state: stateOf({ builds: [ready('d0', 'debian', NOW - 2 * HOUR), ready('d1', 'debian', NOW - HOUR)], uploads: [upload('u1', 'd1', 'p1', 'ready', NOW), upload('u2', 'd1', 'p2', 'ready', NOW)] }),
      actions: [],
    },
    {
      name: 'no older build goes where a newer one’s upload is, even when the newer build went missing',
      state: stateOf({ builds: [ready('d0', 'debian', NOW - 2 * HOUR), build('d1', 'debian', 'missing', NOW - HOUR)], uploads: [upload('u1', 'd1', 'p1', 'ready', NOW - HOUR)] }),
      actions: [{ kind: 'start-upload', buildId: 'd0', diskimage: 'debian', provider: 'p2' }],
    },
  ])('$name', (c) => {
    const config = planConfigWith({ diskimages: [{ name: 'debian', rebuildAgeMs: DAY, pause: false }], providers: planConfigWith().providers.map((p) => ({ ...p, diskimages: [{ name: 'debian', pause: false }] })) });
    const base = agreeingWorld(c.state, config);
    const result = plan(c.state, config, c.world ? c.world(base) : base, NOW);
    expect(only(result.actions, 'start-upload')).toEqual([...c.actions]);
  });

  const fresh = (): SchedulerState => stateOf({ builds: [ready('d1', 'debian', NOW - HOUR)] });
  const debianOnly = (pauseP1 = false): PlanConfig =>
    planConfigWith({
      diskimages: [{ name: 'debian', rebuildAgeMs: DAY, pause: false }],
      providers: [
        { name: 'p1', diskimages: [{ name: 'debian', pause: pauseP1 }] },
        { name: 'p2', diskimages: [{ name: 'debian', pause: false }] },
      ],
    });

  test.each<Case & { readonly p1Wait: Wait }>([
    {
      name: 'a provider in backoff waits; the other is uploaded to in the same pass (invariant 5)',
      state: stateOf({ ...fresh(), backoffs: [{ diskimage: 'debian', provider: 'p1', failures: 9, failedAt: NOW - 1, retryAt: NOW + HOUR, reason: 'Glance 503' }] }),
      actions: [{ kind: 'start-upload', buildId: 'd1', diskimage: 'debian', provider: 'p2' }],
      p1Wait: { diskimage: 'debian', provider: 'p1', why: 'backoff', until: NOW + HOUR },
    },
    {
      name: 'a provider paused for the diskimage (config) gets nothing; the other does',
      state: fresh(),
      config: debianOnly(true),
      actions: [{ kind: 'start-upload', buildId: 'd1', diskimage: 'debian', provider: 'p2' }],
      p1Wait: { diskimage: 'debian', provider: 'p1', why: 'paused', until: undefined },
    },
    {
      name: 'a provider paused for the diskimage (image-pause --provider) gets nothing; the other does',
      state: stateOf({ ...fresh(), pauses: [{ diskimage: 'debian', provider: 'p1', pausedAt: 1 }] }),
      actions: [{ kind: 'start-upload', buildId: 'd1', diskimage: 'debian', provider: 'p2' }],
      p1Wait: { diskimage: 'debian', provider: 'p1', why: 'paused', until: undefined },
    },
    {
      name: 'a provider no builder holds credentials for waits; the other does not',
      state: fresh(),
      world: (w) => ({ ...w, providers: new Map([...w.providers, ['p1', { builders: [], images: [] }]]) }),
      actions: [{ kind: 'start-upload', buildId: 'd1', diskimage: 'debian', provider: 'p2' }],
      p1Wait: { diskimage: 'debian', provider: 'p1', why: 'no-cloud-worker', until: undefined },
    },
    {
      name: 'a provider whose credentials only a builder without the build holds waits',
      state: fresh(),
      world: (w) => ({ ...w, providers: new Map([...w.providers, ['p1', { builders: ['builder-2'], images: [] }]]) }),
      actions: [{ kind: 'start-upload', buildId: 'd1', diskimage: 'debian', provider: 'p2' }],
      p1Wait: { diskimage: 'debian', provider: 'p1', why: 'no-cloud-worker', until: undefined },
    },
  ])('$name', (c) => {
    const config = c.config ?? debianOnly();
    const base = agreeingWorld(c.state, config);
    const result = plan(c.state, config, c.world ? c.world(base) : base, NOW);
    expect(only(result.actions, 'start-upload')).toEqual([...c.actions]);
    expect(result.waits).toEqual([c.p1Wait]);
  });

  test('a build on no builder right now is not uploaded anywhere: build-offline', () => {
    const state = fresh();
    const config = debianOnly();
    const result = plan(state, config, agreeingWorld(state, config, { builds: new Map() }), NOW);
    expect(result.actions).toEqual([]);
    expect(result.waits.map((w) => [w.provider, w.why])).toEqual([
      ['p1', 'build-offline'],
      ['p2', 'build-offline'],
    ]);
  });

  test.each<Case>([
    {
      name: 'an upload recorded as uploading with no job running here is submitted again (same id)',
      state: stateOf({ builds: [ready('d1', 'debian', NOW - HOUR)], uploads: [upload('u1', 'd1', 'p1', 'uploading'), upload('u2', 'd1', 'p2', 'ready', NOW)] }),
      actions: [{ kind: 'resume-upload', uploadId: 'u1', buildId: 'd1', diskimage: 'debian', provider: 'p1' }],
    },
    {
      name: 'not before the provider has been listed since the start (the image may be active: adopted, not uploaded again)',
      state: stateOf({ builds: [ready('d1', 'debian', NOW - HOUR)], uploads: [upload('u1', 'd1', 'p1', 'uploading'), upload('u2', 'd1', 'p2', 'ready', NOW)] }),
      world: (w) => ({ ...w, providers: new Map([...w.providers, ['p1', { builders: ['builder-1'], images: undefined }]]) }),
      actions: [],
      waits: [{ diskimage: 'debian', provider: 'p1', why: 'not-listed-yet', until: undefined }],
    },
    {
      name: 'an upload whose image the cloud lists as active is adopted, not submitted again',
      state: stateOf({ builds: [ready('d1', 'debian', NOW - HOUR)], uploads: [upload('u1', 'd1', 'p1', 'uploading'), upload('u2', 'd1', 'p2', 'ready', NOW)] }),
      world: (w) => withImages({ ...w, providers: new Map([...w.providers, ['p1', { builders: ['builder-1'], images: [] }]]) }, 'p1', [{ externalId: 'ext-u1', uploadId: 'u1', status: 'active', passes: 1 }]),
      actions: [{ kind: 'adopt-upload', uploadId: 'u1', provider: 'p1', externalId: 'ext-u1' }],
    },
    {
      name: 'an upload recorded as failed whose image is active after all is adopted',
      state: stateOf({ builds: [ready('d1', 'debian', NOW - HOUR)], uploads: [upload('u1', 'd1', 'p1', 'failed'), upload('u2', 'd1', 'p2', 'ready', NOW)] }),
      world: (w) => withImages(w, 'p1', [{ externalId: 'ext-u1', uploadId: 'u1', status: 'active', passes: 1 }]),
      actions: [{ kind: 'adopt-upload', uploadId: 'u1', provider: 'p1', externalId: 'ext-u1' }],
    },
    {
      name: 'an upload whose job runs here is not adopted behind its back',
      state: stateOf({ builds: [ready('d1', 'debian', NOW - HOUR)], uploads: [upload('u1', 'd1', 'p1', 'uploading'), upload('u2', 'd1', 'p2', 'ready', NOW)] }),
      world: (w) => ({ ...withImages({ ...w, providers: new Map([...w.providers, ['p1', { builders: ['builder-1'], images: [] }]]) }, 'p1', [{ externalId: 'ext-u1', uploadId: 'u1', status: 'active', passes: 1 }]), inFlight: new Set(['u1']) }),
      actions: [],
    },
    {
      name: 'an upload of a build that is on no builder any more is abandoned (it can never end)',
      state: stateOf({ builds: [build('d1', 'debian', 'missing', NOW - HOUR), ready('d0', 'debian', NOW - 2 * HOUR)], uploads: [upload('u1', 'd1', 'p1', 'uploading')] }),
      world: (w) => ({ ...w, builds: new Map([['d0', { builders: ['builder-1'], diskimage: 'debian', formats: ['qcow2'] }]]) }),
      actions: [{ kind: 'abandon-upload', uploadId: 'u1', provider: 'p1', why: 'build-unavailable' }],
    },
    {
      name: 'D2: an upload whose job runs here but waits for a builder that is gone (its build missing, registered nowhere) is abandoned',
      state: stateOf({ builds: [build('d1', 'debian', 'missing', NOW - HOUR), ready('d0', 'debian', NOW - 2 * HOUR)], uploads: [upload('u1', 'd1', 'p1', 'uploading')] }),
      world: (w) => ({ ...w, builds: new Map([['d0', { builders: ['builder-1'], diskimage: 'debian', formats: ['qcow2'] }]]), inFlight: new Set(['u1']) }),
      actions: [{ kind: 'abandon-upload', uploadId: 'u1', provider: 'p1', why: 'build-unavailable' }],
    },
    {
      name: 'D2: not when a builder registers its missing build again (the build is adopted, and the job can end)',
      state: stateOf({ builds: [build('d1', 'debian', 'missing', NOW - HOUR), ready('d0', 'debian', NOW - 2 * HOUR)], uploads: [upload('u1', 'd1', 'p1', 'uploading')] }),
      world: (w) => ({ ...w, builds: new Map([...w.builds, ['d1', { builders: ['builder-2'], diskimage: 'debian', formats: ['qcow2'] }]]), inFlight: new Set(['u1']) }),
      actions: [],
    },
    {
      name: 'D2: not while its build is ready, even registered nowhere (missing-build-grace decides the host is gone, not one listing)',
      state: stateOf({ builds: [ready('d1', 'debian', NOW - HOUR), ready('d0', 'debian', NOW - 2 * HOUR)], uploads: [upload('u1', 'd1', 'p1', 'uploading')] }),
      world: (w) => ({ ...w, builds: new Map([['d0', { builders: ['builder-1'], diskimage: 'debian', formats: ['qcow2'] }]]), inFlight: new Set(['u1']) }),
      actions: [],
    },
    {
      name: 'an upload whose image the cloud killed is abandoned, not submitted again under the same image id',
      state: stateOf({ builds: [ready('d1', 'debian', NOW - HOUR)], uploads: [upload('u1', 'd1', 'p1', 'uploading'), upload('u2', 'd1', 'p2', 'ready', NOW)] }),
      world: (w) => withImages({ ...w, providers: new Map([...w.providers, ['p1', { builders: ['builder-1'], images: [] }]]) }, 'p1', [{ externalId: 'ext-u1', uploadId: 'u1', status: 'killed', passes: 1 }]),
      actions: [{ kind: 'abandon-upload', uploadId: 'u1', provider: 'p1', why: 'image-killed' }],
    },
    {
      name: 'an upload to a provider that no longer takes the diskimage is abandoned, not submitted again',
      state: stateOf({ builds: [ready('d1', 'debian', NOW - HOUR)], uploads: [upload('u1', 'd1', 'p3', 'uploading'), upload('u2', 'd1', 'p2', 'ready', NOW)] }),
      world: (w) => ({ ...w, providers: new Map([...w.providers, ['p3', { builders: ['builder-1'], images: [] }]]) }),
      actions: [{ kind: 'abandon-upload', uploadId: 'u1', provider: 'p3', why: 'unconfigured' }],
    },
  ])('$name', (c) => {
    const config = debianOnly();
    const base = agreeingWorld(c.state, config);
    const result = plan(c.state, config, c.world ? c.world(base) : base, NOW);
    expect(only(result.actions, 'resume-upload', 'adopt-upload', 'abandon-upload')).toEqual([...c.actions]);
    if (c.waits) expect(result.waits).toEqual([...c.waits]);
  });
});

describe('keep', () => {
  const debianOnly = planConfigWith({
    diskimages: [{ name: 'debian', rebuildAgeMs: DAY, pause: false }],
    providers: [{ name: 'p1', diskimages: [{ name: 'debian', pause: false }] }],
  });
  const three = (): SchedulerState =>
    stateOf({
      builds: [ready('d1', 'debian', NOW - 3 * HOUR), ready('d2', 'debian', NOW - 2 * HOUR), ready('d3', 'debian', NOW - HOUR)],
      uploads: [upload('u1', 'd1', 'p1', 'ready', NOW - 3 * HOUR), upload('u2', 'd2', 'p1', 'ready', NOW - 2 * HOUR), upload('u3', 'd3', 'p1', 'ready', NOW - HOUR)],
    });

  test('beyond keep-uploads the oldest ready upload is deleted; its build stays while the upload exists', () => {
    const state = three();
    const result = plan(state, debianOnly, agreeingWorld(state, debianOnly), NOW);
    expect(only(result.actions, 'delete-upload', 'delete-build')).toEqual([{ kind: 'delete-upload', uploadId: 'u1', diskimage: 'debian', provider: 'p1', externalId: 'ext-u1', why: 'superseded' }]);
  });

  test('age is the build’s: an old build’s upload that became ready last is still the oldest', () => {
    const state = stateOf({ ...three(), uploads: [upload('u1', 'd1', 'p1', 'ready', NOW - 1), upload('u2', 'd2', 'p1', 'ready', NOW - 2 * HOUR), upload('u3', 'd3', 'p1', 'ready', NOW - HOUR)] });
    const result = plan(state, debianOnly, agreeingWorld(state, debianOnly), NOW);
    expect(only(result.actions, 'delete-upload').map((a) => 'uploadId' in a && a.uploadId)).toEqual(['u1']);
  });

  test('beyond keep-builds a build with no upload left is deleted; with an upload left (even deleting) it stays', () => {
    const gone = stateOf({ ...three(), uploads: [upload('u1', 'd1', 'p1', 'gone', NOW - 3 * HOUR), ...three().uploads.slice(1)] });
    expect(only(plan(gone, debianOnly, agreeingWorld(gone, debianOnly), NOW).actions, 'delete-build', 'delete-upload')).toEqual([
      { kind: 'delete-build', buildId: 'd1', diskimage: 'debian', why: 'superseded' },
    ]);
    const deleting = stateOf({ ...three(), uploads: [upload('u1', 'd1', 'p1', 'deleting', NOW - 3 * HOUR), ...three().uploads.slice(1)] });
    const world = agreeingWorld(deleting, debianOnly, { inFlight: new Set(['u1']) });
    expect(only(plan(deleting, debianOnly, world, NOW).actions, 'delete-build', 'delete-upload')).toEqual([]);
  });

  test('a build beyond keep-builds is deleted only where its builder is online, and never twice', () => {
    const state = stateOf({ builds: three().builds });
    const world = agreeingWorld(state, debianOnly);
    const offline = { ...world, builds: new Map([...world.builds].filter(([id]) => id !== 'd1')) };
    expect(only(plan(state, debianOnly, offline, NOW).actions, 'delete-build')).toEqual([]);
    expect(only(plan(state, debianOnly, { ...world, inFlight: new Set(['d1']) }, NOW).actions, 'delete-build')).toEqual([]);
  });

  test('a missing build beyond keep-builds with no upload left is recorded gone (its host is gone: no job)', () => {
    const state = stateOf({ builds: [build('d1', 'debian', 'missing', NOW - 3 * HOUR), ready('d2', 'debian', NOW - 2 * HOUR), ready('d3', 'debian', NOW - HOUR)] });
    expect(only(plan(state, debianOnly, agreeingWorld(state, debianOnly), NOW).actions, 'forget-build', 'delete-build')).toEqual([
      { kind: 'forget-build', buildId: 'd1', diskimage: 'debian', why: 'missing-unused' },
    ]);
  });

  test('invariant 1: the newest ready upload stays when every newer attempt failed or is running', () => {
    const state = stateOf({
      builds: [ready('d1', 'debian', NOW - 3 * HOUR), ready('d2', 'debian', NOW - 2 * HOUR), ready('d3', 'debian', NOW - HOUR)],
      uploads: [upload('u1', 'd1', 'p1', 'ready', NOW - 3 * HOUR), upload('u2', 'd2', 'p1', 'failed'), upload('u3', 'd3', 'p1', 'failed'), upload('u4', 'd3', 'p1', 'uploading')],
    });
    const config = { ...debianOnly, keepUploads: 1 };
    const result = plan(state, config, agreeingWorld(state, config, { inFlight: new Set(['u4']) }), NOW);
    expect(only(result.actions, 'delete-upload')).toEqual([]);
  });

  test('a paused diskimage keeps what it has (no superseded build deleted); a paused provider keeps its uploads', () => {
    const state = stateOf({ ...three(), uploads: three().uploads.slice(1) });
    const paused = { ...debianOnly, diskimages: [{ name: 'debian', rebuildAgeMs: DAY, pause: true }] };
    expect(only(plan(state, paused, agreeingWorld(state, paused), NOW).actions, 'delete-build')).toEqual([]);
    const full = three();
    const pausedPair = stateOf({ ...full, pauses: [{ diskimage: 'debian', provider: 'p1', pausedAt: 1 }] });
    expect(only(plan(pausedPair, debianOnly, agreeingWorld(pausedPair, debianOnly), NOW).actions, 'delete-upload')).toEqual([]);
  });
});

describe('config changes', () => {
  const state = (): SchedulerState =>
    stateOf({
      builds: [ready('d1', 'debian', NOW - 2 * HOUR), ready('d2', 'debian', NOW - HOUR)],
      uploads: [upload('u1', 'd1', 'p1', 'ready', NOW - 2 * HOUR), upload('u2', 'd2', 'p1', 'ready', NOW - HOUR), upload('v2', 'd2', 'p2', 'ready', NOW - HOUR)],
    });

  test('a diskimage removed from a provider: its uploads there go, the newest included; the other provider and the builds stay', () => {
    const config = planConfigWith({
      diskimages: [{ name: 'debian', rebuildAgeMs: DAY, pause: false }],
      providers: [
        { name: 'p1', diskimages: [] },
        { name: 'p2', diskimages: [{ name: 'debian', pause: false }] },
      ],
    });
    const s = state();
    expect(only(plan(s, config, agreeingWorld(s, config), NOW).actions, 'delete-upload', 'delete-build', 'start-upload')).toEqual([
      { kind: 'delete-upload', uploadId: 'u2', diskimage: 'debian', provider: 'p1', externalId: 'ext-u2', why: 'unconfigured' },
      { kind: 'delete-upload', uploadId: 'u1', diskimage: 'debian', provider: 'p1', externalId: 'ext-u1', why: 'unconfigured' },
    ]);
  });

  test('a provider removed from the file: its uploads go through a builder that still holds its credentials', () => {
    const config = planConfigWith({ diskimages: [{ name: 'debian', rebuildAgeMs: DAY, pause: false }], providers: [{ name: 'p1', diskimages: [{ name: 'debian', pause: false }] }] });
    const s = state();
    const world = agreeingWorld(s, config);
    const withP2 = { ...world, providers: new Map([...world.providers, ['p2', { builders: ['builder-1'], images: [{ externalId: 'ext-v2', uploadId: 'v2', status: 'active', passes: 1 }] }]]) };
    expect(only(plan(s, config, withP2, NOW).actions, 'delete-upload')).toEqual([{ kind: 'delete-upload', uploadId: 'v2', diskimage: 'debian', provider: 'p2', externalId: 'ext-v2', why: 'unconfigured' }]);
    const result = plan(s, config, world, NOW);
    expect(only(result.actions, 'delete-upload')).toEqual([]);
    expect(result.waits).toEqual([{ diskimage: 'debian', provider: 'p2', why: 'no-cloud-worker', until: undefined }]);
  });

  test('a diskimage removed from the file: its uploads go everywhere, then its builds; nothing new is built or uploaded', () => {
    const config = planConfigWith({ diskimages: [], providers: [{ name: 'p1', diskimages: [] }, { name: 'p2', diskimages: [] }] });
    const s = state();
    expect(only(plan(s, config, agreeingWorld(s, config), NOW).actions, 'delete-upload', 'delete-build', 'start-build', 'start-upload').map((a) => [a.kind, 'uploadId' in a ? a.uploadId : 'buildId' in a ? a.buildId : '', 'why' in a ? a.why : ''])).toEqual([
      ['delete-upload', 'u2', 'diskimage-removed'],
      ['delete-upload', 'u1', 'diskimage-removed'],
      ['delete-upload', 'v2', 'diskimage-removed'],
    ]);
    const after = stateOf({ builds: s.builds, uploads: s.uploads.map((u) => ({ ...u, state: 'gone' as const })) });
    expect(only(plan(after, config, agreeingWorld(after, config), NOW).actions, 'delete-build')).toEqual([
      { kind: 'delete-build', buildId: 'd2', diskimage: 'debian', why: 'diskimage-removed' },
      { kind: 'delete-build', buildId: 'd1', diskimage: 'debian', why: 'diskimage-removed' },
    ]);
  });
});

describe('reconciliation', () => {
  const config = planConfigWith({ diskimages: [{ name: 'debian', rebuildAgeMs: DAY, pause: false }], providers: [{ name: 'p1', diskimages: [{ name: 'debian', pause: false }] }] });
  const base = (): SchedulerState =>
    stateOf({
      builds: [ready('d1', 'debian', NOW - HOUR)],
      uploads: [upload('u1', 'd1', 'p1', 'ready', NOW - HOUR), upload('old', 'd1', 'p1', 'gone', NOW - 2 * HOUR), upload('bad', 'd1', 'p1', 'failed')],
    });
  const leaksOf = (images: Parameters<typeof withImages>[2], leakPasses = 2, inFlight: string[] = []) => {
    const s = base();
    const c = { ...config, leakPasses };
    return only(plan(s, c, withImages(agreeingWorld(s, c, { inFlight: new Set(inFlight) }), 'p1', images), NOW).actions, 'delete-leak', 'adopt-upload');
  };

  test.each([
    ['an unknown tagged image seen once is left alone', [{ externalId: 'x', uploadId: undefined, status: 'active', passes: 1 }], 2, []],
    ['an unknown tagged image seen in two sweeps in a row is deleted', [{ externalId: 'x', uploadId: 'zzz', status: 'active', passes: 2 }], 2, [{ kind: 'delete-leak', provider: 'p1', externalId: 'x', uploadId: 'zzz', passes: 2 }]],
    ['leak-passes = 3 waits a third sweep', [{ externalId: 'x', uploadId: undefined, status: 'queued', passes: 2 }], 3, []],
    ['the image of an upload recorded as gone is a leak', [{ externalId: 'ext-old', uploadId: 'old', status: 'active', passes: 2 }], 2, [{ kind: 'delete-leak', provider: 'p1', externalId: 'ext-old', uploadId: 'old', passes: 2 }]],
    ['the non-active image a failed upload left is a leak', [{ externalId: 'ext-bad', uploadId: 'bad', status: 'killed', passes: 2 }], 2, [{ kind: 'delete-leak', provider: 'p1', externalId: 'ext-bad', uploadId: 'bad', passes: 2 }]],
    ['an image already being deleted by Glance is not deleted again', [{ externalId: 'x', uploadId: undefined, status: 'pending_delete', passes: 5 }], 2, []],
    ['an image whose tag names an upload that chose another image id is a leak', [{ externalId: 'y', uploadId: 'u1', status: 'active', passes: 2 }], 2, [{ kind: 'delete-leak', provider: 'p1', externalId: 'y', uploadId: 'u1', passes: 2 }]],
  ] as const)('invariant 2: %s', (_what, images, passes, expected) => {
    expect(leaksOf([...images], passes)).toEqual([...expected]);
  });

  test('invariant 2: a leak delete already running is not submitted again', () => {
    expect(leaksOf([{ externalId: 'x', uploadId: undefined, status: 'active', passes: 3 }], 2, ['x'])).toEqual([]);
  });

  test('invariant 2: the image of an upload recorded as ready or uploading is never a leak, however many sweeps saw it', () => {
    const s = stateOf({ ...base(), uploads: [...base().uploads, upload('u2', 'd1', 'p1', 'uploading')] });
    const world = withImages(agreeingWorld(s, config, { inFlight: new Set(['u2']) }), 'p1', []);
    const seenOften = { ...world, providers: new Map([...world.providers].map(([p, v]) => [p, { ...v, images: v.images!.map((i) => ({ ...i, passes: 50 })) }])) };
    expect(only(plan(s, config, seenOften, NOW).actions, 'delete-leak', 'delete-upload')).toEqual([]);
  });

  test.each([
    ['listed: the delete is submitted again', 'active', [{ kind: 'delete-upload', uploadId: 'u0', diskimage: 'debian', provider: 'p1', externalId: 'ext-u0', why: 'resumed' }]],
    ['no longer listed: it ended unseen, recorded gone', undefined, [{ kind: 'forget-upload', uploadId: 'u0', provider: 'p1' }]],
    ['listed as deleted: recorded gone', 'deleted', [{ kind: 'forget-upload', uploadId: 'u0', provider: 'p1' }]],
  ] as const)('an upload recorded as deleting with no job running, %s', (_what, status, expected) => {
    const s = stateOf({ ...base(), uploads: [...base().uploads, upload('u0', 'd1', 'p1', 'deleting', NOW - 3 * HOUR)] });
    const world = agreeingWorld(s, config);
    const images = world.providers.get('p1')!.images!.filter((i) => i.externalId !== 'ext-u0');
    const listed = status ? [...images, { externalId: 'ext-u0', uploadId: 'u0', status, passes: 1 }] : images;
    const w = { ...world, providers: new Map([['p1', { builders: ['builder-1'], images: listed }]]) };
    expect(only(plan(s, config, w, NOW).actions, 'delete-upload', 'forget-upload')).toEqual([...expected]);
  });

  test('a ready build absent from every job server is marked missing only after the grace', () => {
    const s = base();
    const absent = (since: number) => agreeingWorld(s, config, { builds: new Map(), absentSince: new Map([['d1', since]]) });
    expect(only(plan(s, config, absent(NOW - 10 * MINUTE + 1), NOW).actions, 'mark-build-missing')).toEqual([]);
    expect(only(plan(s, config, absent(NOW - 10 * MINUTE), NOW).actions, 'mark-build-missing')).toEqual([{ kind: 'mark-build-missing', buildId: 'd1', diskimage: 'debian', absentSince: NOW - 10 * MINUTE }]);
    expect(only(plan(s, config, agreeingWorld(s, config, { builds: new Map() }), NOW).actions, 'mark-build-missing')).toEqual([]);
  });

  test('a build recorded as deleting: submitted again while registered; recorded gone once absent from every job server, without the grace (C1)', () => {
    const s = stateOf({ builds: [ready('d1', 'debian', NOW - HOUR), build('d0', 'debian', 'deleting', NOW - 3 * HOUR)] });
    expect(only(plan(s, config, agreeingWorld(s, config), NOW).actions, 'delete-build', 'forget-build')).toEqual([{ kind: 'delete-build', buildId: 'd0', diskimage: 'debian', why: 'resumed' }]);
    const world = agreeingWorld(s, config);
    for (const since of [NOW - HOUR, NOW]) {
      const gone = { ...world, builds: new Map([...world.builds].filter(([id]) => id !== 'd0')), absentSince: new Map([['d0', since]]) };
      expect(only(plan(s, config, gone, NOW).actions, 'delete-build', 'forget-build')).toEqual([{ kind: 'forget-build', buildId: 'd0', diskimage: 'debian', why: 'delete-ended-unseen' }]);
    }
  });

  test('a build the state records as gone that a builder registers again is deleted there', () => {
    const s = stateOf({ builds: [ready('d1', 'debian', NOW - HOUR), build('d0', 'debian', 'gone', NOW - 3 * HOUR)] });
    const world = agreeingWorld(s, config);
    const back = { ...world, builds: new Map([...world.builds, ['d0', { builders: ['builder-1'], diskimage: 'debian', formats: ['qcow2'] }]]) };
    expect(only(plan(s, config, back, NOW).actions, 'delete-stray-build')).toEqual([{ kind: 'delete-stray-build', buildId: 'd0' }]);
  });
});
