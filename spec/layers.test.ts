import { expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * Layers import downward only. Each folder of src/ names the folders of src/ it may import from
 * (itself always) and the packages it may use besides node: built-ins.
 */
const LAYERS: Readonly<Record<string, { readonly folders: readonly string[]; readonly packages?: RegExp }>> = {
  errors: { folders: [] },
  util: { folders: [] },
  images: { folders: ['errors', 'util'] },
  builders: { folders: ['config', 'images', 'errors', 'util'] },
  uploaders: { folders: ['config', 'images', 'errors', 'util'], packages: /^(undici\/index\.js|yaml)$/ },
  protocol: { folders: ['errors', 'util'], packages: /^smol-toml$/ },
  scheduler: { folders: ['config', 'images', 'errors', 'util'], packages: /^bun:sqlite$/ },
  api: { folders: ['scheduler', 'config', 'images', 'errors', 'util'] },
  metrics: { folders: ['worker', 'scheduler', 'config', 'images', 'errors', 'util'], packages: /^prom-client$/ },
  dashboard: { folders: ['api', 'scheduler', 'config', 'images', 'errors', 'util'] },
};

const SRC = resolve('src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/\bfrom\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g)].map((match) => match[1] ?? match[2]!);
}

test.each(Object.keys(LAYERS))('src/%s imports only from the layers under it', (layer) => {
  const rule = LAYERS[layer]!;
  const offending: string[] = [];
  for (const file of sourceFiles(join(SRC, layer))) {
    for (const spec of importsOf(file)) {
      if (spec.startsWith('.')) {
        const target = relative(SRC, resolve(dirname(file), spec));
        const folder = target.startsWith('..') ? target : target.split('/')[0]!;
        // package.json (the version) sits outside src/ and is allowed from anywhere.
        if (folder === layer || rule.folders.includes(folder) || target === '../package.json') continue;
      } else if (spec.startsWith('node:') || rule.packages?.test(spec)) continue;
      offending.push(`${relative(SRC, file)}: ${spec}`);
    }
  }
  expect(offending).toEqual([]);
});
