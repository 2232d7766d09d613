import { statfs } from 'node:fs/promises';
import { Gauge, type Registry } from 'prom-client';

/** The job classes' slots as the builder's worker counts them (build, upload, cloud). */
export interface SlotView {
  readonly busy: Readonly<Record<string, number>>;
  readonly slots: Readonly<Record<string, number>>;
}

/**
 * Read at scrape time: the worker's slots busy and free per job class, and the space left to
 * unprivileged users on the filesystem of images-dir (what a build can use).
 */
export function registerBuilderHostMetrics(registry: Registry, imagesDir: string, slots: () => SlotView | undefined): void {
  new Gauge({
    name: 'nodepool_builder_slots',
    help: 'Job slots of the builder by job class (build, upload, cloud) and state (busy, free).',
    labelNames: ['class', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const view = slots();
      if (!view) return;
      for (const [jobClass, total] of Object.entries(view.slots)) {
        const busy = view.busy[jobClass] ?? 0;
        this.set({ class: jobClass, state: 'busy' }, busy);
        this.set({ class: jobClass, state: 'free' }, Math.max(0, total - busy));
      }
    },
  });
  new Gauge({
    name: 'nodepool_builder_images_dir_free_bytes',
    help: 'Bytes available to the builder on the filesystem of images-dir (labelled with its path).',
    labelNames: ['path'] as const,
    registers: [registry],
    async collect() {
      // A directory that cannot be read (not made yet, gone) shows no sample, not a false 0, and the scrape goes on.
      this.reset();
      const stats = await statfs(imagesDir).catch(() => undefined);
      if (stats) this.set({ path: imagesDir }, stats.bavail * stats.bsize);
    },
  });
}
