import type { BuilderConfig } from '../config/schema.ts';
import type { SchedulerConfig } from '../config/scheduler-schema.ts';

/** The part of the configuration the planner reads, with providers' diskimage lists resolved. */
export interface PlanConfig {
  readonly diskimages: readonly { readonly name: string; readonly rebuildAgeMs: number; readonly pause: boolean }[];
  /** Each provider with the diskimages it takes (all of the file's when its `diskimages` key is absent). */
  readonly providers: readonly { readonly name: string; readonly diskimages: readonly { readonly name: string; readonly pause: boolean }[] }[];
  readonly keepBuilds: number;
  readonly keepUploads: number;
  readonly leakPasses: number;
  readonly missingBuildGraceMs: number;
}

export function planConfig(config: BuilderConfig, scheduler: SchedulerConfig): PlanConfig {
  return {
    diskimages: config.diskimages.map(({ name, rebuildAgeMs, pause }) => ({ name, rebuildAgeMs, pause })),
    providers: config.providers.map((provider) => ({
      name: provider.name,
      diskimages: provider.diskimages?.map(({ name, pause }) => ({ name, pause })) ?? config.diskimages.map(({ name }) => ({ name, pause: false })),
    })),
    keepBuilds: scheduler.keepBuilds,
    keepUploads: scheduler.keepUploads,
    leakPasses: scheduler.leakPasses,
    missingBuildGraceMs: scheduler.missingBuildGraceMs,
  };
}
