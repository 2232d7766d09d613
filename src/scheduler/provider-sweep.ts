/**
 * The sweep of each provider's images tagged with this system's id, through a builder holding
 * the provider's credentials (provider-image-list:<provider>), counted in passes for the leak
 * rule. No pass waits long for one provider: a slow listing is left running for a later pass.
 */
import { randomUUID } from 'node:crypto';
import { oneLine } from '../errors/thrown.ts';
import type { Logger } from '../util/log.ts';
import { listFunction, listRequest, parseListResult } from './job-messages.ts';
import { PassCounter } from './observe.ts';
import type { JobPort } from './runner-ports.ts';
import type { ListedImage, ProviderView } from './world.ts';

/**
 * How long a pass waits for a provider's listing. One that takes longer (its cloud hangs, or
 * refuses and is retried) is left running: this pass plans without it (as if the listing had
 * failed: no leak is deleted, no upload adopted there), so no other provider's uploads wait on
 * it (invariant 5); when it ends, a pass follows at once and uses it.
 */
export const LISTING_WAIT_MS = 5_000;

type Listing = Omit<ListedImage, 'passes'>[] | undefined;

export interface ProviderSweepOptions {
  readonly jobs: JobPort;
  readonly logger: Logger;
  readonly listingWaitMs: number;
  /** A listing that ended after its pass went on without it: ask for a pass that uses it. */
  readonly onLateListing: () => void;
}

export class ProviderSweep {
  private readonly passCounter = new PassCounter();
  /** Each provider's listing still running, or ended and not yet used by a pass. */
  private readonly listings = new Map<string, Promise<Listing>>();

  constructor(private readonly options: ProviderSweepOptions) {}

  /** Lists each named provider through one of its cloud builders (none: no listing this pass). */
  async sweep(providers: Iterable<string>, cloudBuilders: ReadonlyMap<string, readonly string[]>, systemId: string, timeoutMs: number): Promise<Map<string, ProviderView>> {
    const views = new Map<string, ProviderView>();
    await Promise.all(
      [...providers].map(async (provider) => {
        const builders = cloudBuilders.get(provider) ?? [];
        const images = builders.length === 0 ? undefined : await this.listWithin(provider, systemId, timeoutMs);
        views.set(provider, { builders, images: this.passCounter.sweep(provider, images) });
      }),
    );
    return views;
  }

  /** The provider's listing (the one running, or a new one) if it ends within listingWaitMs; undefined otherwise. */
  private async listWithin(provider: string, systemId: string, timeoutMs: number): Promise<Listing> {
    let listing = this.listings.get(provider);
    if (!listing) {
      listing = this.list(provider, systemId, timeoutMs);
      this.listings.set(provider, listing);
    }
    const { listingWaitMs, logger } = this.options;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), listingWaitMs);
    });
    const outcome = await Promise.race([listing, late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      logger.warn(`scheduler: listing ${provider} takes longer than ${listingWaitMs / 1000} s; this pass goes on without it`);
      // Once it ends, a pass uses it (ends are rare: one listing per provider runs at a time).
      void listing.then(() => this.options.onLateListing());
      return undefined;
    }
    this.listings.delete(provider);
    return outcome;
  }

  private async list(provider: string, systemId: string, timeoutMs: number): Promise<Listing> {
    const { jobs, logger } = this.options;
    const outcome = await jobs.run(listFunction(provider), listRequest(systemId), randomUUID(), timeoutMs);
    if (outcome.kind !== 'complete') {
      logger.warn(`scheduler: listing ${provider} failed: ${outcome.reason}`);
      return undefined;
    }
    try {
      return parseListResult(outcome.data, provider);
    } catch (err) {
      logger.warn(`scheduler: listing ${provider}: ${oneLine(err)}`);
      return undefined;
    }
  }
}
