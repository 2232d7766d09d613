/** The state both scheduler benches load: 1,000 diskimages × 20 providers × keep 2, all ready. */
import type { BuildRecord, UploadRecord } from '../../src/scheduler/state.ts';

export const NOW = Date.UTC(2026, 0, 1);
export const names = Array.from({ length: 1000 }, (_, i) => `image-${i}`);
export const providers = Array.from({ length: 20 }, (_, i) => `cloud-${i}`);
export const builds: BuildRecord[] = names.flatMap((d) =>
  [2, 1].map((age) => ({ id: `${d}-b${age}`, diskimage: d, state: 'ready' as const, builder: 'b1', formats: ['qcow2'], createdAt: NOW - age * 3_600_000, stateAt: NOW, readyAt: NOW - age * 3_600_000, reason: undefined })),
);
export const uploads: UploadRecord[] = builds.flatMap((b) =>
  providers.map((p) => ({ id: `${b.id}-${p}`, buildId: b.id, provider: p, state: 'ready' as const, externalId: `ext-${b.id}-${p}`, externalName: b.id, createdAt: NOW, stateAt: NOW, readyAt: NOW, reason: undefined })),
);
