import { readdir } from 'node:fs/promises';
import { defineCommand } from 'citty';
import { loadConfig } from '../../config/load.ts';
import { ImageRepository } from '../../images/repository.ts';
import { silentLogger } from '../../util/log.ts';
import { runCli } from '../cli-error.ts';
import { renderTable } from '../table.ts';

function age(iso: string): string {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

export const dibImageListCommand = defineCommand({
  meta: { name: 'dib-image-list', description: 'List the images in the local repository (and builds in progress).' },
  args: {
    config: { type: 'string', alias: 'c', description: 'Configuration file (TOML)', required: true, valueHint: 'FILE' },
    json: { type: 'boolean', description: 'Print JSON' },
    debug: { type: 'boolean', description: 'Show stack traces' },
  },
  run: ({ args }) =>
    runCli(args.debug === true, async () => {
      const config = await loadConfig(args.config);
      const repository = new ImageRepository(config.imagesDir, silentLogger);
      // Read-only: a running builder owns recovery, so staging is listed, never cleaned here.
      const images = await repository.load();
      // Ids never start with a dot: dot entries are a build's process records and conversions.
      const building = (await readdir(repository.stagingDir).catch(() => [] as string[])).filter((name) => !name.startsWith('.'));
      const rows = [
        ...images.map((image) => ({
          id: image.id,
          image: image.name,
          formats: Object.keys(image.formats).join(','),
          size: Object.values(image.formats).reduce((sum, f) => sum + f.size, 0),
          age: age(image.build.finished),
          state: 'ready',
        })),
        ...building.map((id) => ({ id, image: '', formats: '', size: 0, age: '', state: 'building' })),
      ];
      if (args.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const table = renderTable(
        ['ID', 'IMAGE', 'FORMATS', 'SIZE', 'AGE', 'STATE'],
        rows.map((r) => [r.id, r.image, r.formats, r.size ? `${(r.size / 1024 ** 2).toFixed(1)} MiB` : '', r.age, r.state]),
      );
      process.stdout.write(`${table}\n`);
    }),
});
