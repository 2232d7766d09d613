import type { StateDocument } from '../../../src/scheduler/state-document.ts';

export const BUILDS_PER_GENERATION = 40;
export const UPLOADS_PER_BUILD = 5;

/** A whole state, every record marked with its generation: a mix of two generations is a torn write. */
export function generation(n: number): StateDocument {
  const builds = Array.from({ length: BUILDS_PER_GENERATION }, (_, b) => ({
    id: `g${n}-b${b}`,
    diskimage: `image-${b}`,
    state: 'ready' as const,
    builder: 'builder-1',
    formats: ['qcow2'],
    createdAt: n,
    stateAt: n,
    readyAt: n,
    reason: `generation ${n}`,
  }));
  const uploads = builds.flatMap((build) =>
    Array.from({ length: UPLOADS_PER_BUILD }, (_, u) => ({
      id: `${build.id}-u${u}`,
      buildId: build.id,
      provider: `provider-${u}`,
      state: 'ready' as const,
      externalId: `${build.id}-ext-${u}`,
      externalName: `${build.diskimage}-${n}`,
      createdAt: n,
      stateAt: n,
      readyAt: n,
      reason: `generation ${n}`,
    })),
  );
  return { systemId: 'chaos', builds, uploads, pauses: [], backoffs: [], buildRequests: [{ diskimage: 'image-0', requestedAt: n }] };
}
