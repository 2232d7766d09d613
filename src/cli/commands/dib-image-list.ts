import { readdir } from 'node:fs/promises';
import { defineCommand } from 'citty';
import { loadConfig } from '../../config/load.ts';
import { ImageRepository } from '../../images/repository.ts';
import { silentLogger } from '../../util/log.ts';
import { DEFAULT_API, callApi, printReply } from '../api-client.ts';
import { UsageError, runCli } from '../cli-error.ts';
import { renderTable } from '../table.ts';

function age(iso: string): string {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

export const dibImageListCommand = defineCommand({
  meta: { name: 'dib-image-list', description: "List the images in the local repository (-c), or the scheduler's builds (--api)." },
  args: {
    config: { type: 'string', alias: 'c', description: "Configuration file (TOML): list this builder's images-dir", valueHint: 'FILE' },
    api: { type: 'string', description: `Ask the scheduler's API instead (e.g. ${DEFAULT_API})`, valueHint: 'URL' },
    json: { type: 'boolean', description: 'Print JSON' },
    debug: { type: 'boolean', description: 'Show stack traces' },
  },
  run: ({ args }) =>
    runCli(args.debug === true, async () => {
      const file = args.config;
      if ((file === undefined) === (args.api === undefined)) throw new UsageError('dib-image-list takes either -c FILE (the local repository) or --api URL (the scheduler)');
      if (file === undefined) {
        const json = args.json === true;
        printReply(await callApi({ api: args.api, method: 'GET', path: '/dib-image-list', text: !json }), json);
        return;
      }
      const config = await loadConfig(file);
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
