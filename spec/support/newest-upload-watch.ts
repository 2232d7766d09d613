/**
 * Watches the clouds for the scheduler's invariant 1 (DESIGN §10): the newest ready upload of a
 * (diskimage, provider) is never deleted. Every `intervalMs` it looks at each provider's images
 * tagged by the system; the newest active one is the one whose build became ready last
 * (`buildReadyAt`, from the scheduler's state file). An image that was the newest at one look
 * and is not active at the next, while nothing newer is active, is a violation.
 */
import type { TaggedImage } from './scheduler-fleet.ts';

export interface NewestUploadWatch {
  /** Each violation seen, described. */
  readonly violations: readonly string[];
  /** Image ids that were the newest active upload of their provider at some look. */
  readonly newestSeen: ReadonlySet<string>;
  stop(): Promise<void>;
}

interface Ranked {
  readonly id: string;
  readonly rank: number;
}

export function watchNewestUploads(options: {
  readonly providers: readonly string[];
  /** The system's images in a provider's cloud. */
  readonly tagged: (provider: string) => Promise<TaggedImage[]>;
  /** When the build became ready (ms), or undefined when the state does not know it as ready. */
  readonly buildReadyAt: (buildId: string) => number | undefined;
  readonly intervalMs?: number;
}): NewestUploadWatch {
  const violations: string[] = [];
  const newestSeen = new Set<string>();
  const previous = new Map<string, Ranked>();
  let stopped = false;

  const look = async (provider: string): Promise<void> => {
    const active = (await options.tagged(provider)).filter((image) => image.status === 'active').map((image) => ({ id: image.id, rank: options.buildReadyAt(image.buildId) ?? -1 }));
    const before = previous.get(provider);
    if (before && !active.some((image) => image.id === before.id) && !active.some((image) => image.rank > before.rank)) {
      violations.push(`image ${before.id}, the newest active upload to ${provider}, left while nothing newer was active (active: ${active.map((i) => i.id).join(', ') || 'none'})`);
    }
    const newest = active.reduce<Ranked | undefined>((a, b) => (a === undefined || b.rank > a.rank ? b : a), undefined);
    if (newest) {
      previous.set(provider, newest);
      newestSeen.add(newest.id);
    } else previous.delete(provider);
  };

  const loop = (async () => {
    while (!stopped) {
      for (const provider of options.providers) await look(provider).catch((err: unknown) => violations.push(`a look at ${provider} failed: ${String(err)}`));
      await Bun.sleep(options.intervalMs ?? 200);
    }
  })();

  return {
    violations,
    newestSeen,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
