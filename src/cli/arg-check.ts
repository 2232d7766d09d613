import type { ArgsDef } from 'citty';

/** camelCase and kebab-case spell the same option for citty; compare them as one. */
function normal(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

interface Option {
  readonly name: string;
  readonly takesValue: boolean;
  readonly boolean: boolean;
}

/**
 * What citty lets through silently: an unknown flag (a misspelt `--tiemout 5` would be dropped,
 * and the command run without it), a stray extra argument, a missing positional or required
 * option. Returns the first problem in words, or undefined.
 */
export function argumentProblem(argsDef: ArgsDef, rawArgs: readonly string[]): string | undefined {
  const options = new Map<string, Option>();
  const positionals: { name: string; required: boolean }[] = [];
  const required: string[] = [];
  for (const [name, def] of Object.entries(argsDef)) {
    if (def.type === 'positional') {
      positionals.push({ name, required: def.required !== false && def.default === undefined });
      continue;
    }
    const option = { name, takesValue: def.type === 'string' || def.type === 'enum', boolean: def.type === 'boolean' };
    options.set(`--${normal(name)}`, option);
    if (option.boolean) options.set(`--no${normal(`-${name}`)}`, option);
    const alias = 'alias' in def ? def.alias : undefined;
    const aliases = alias === undefined ? [] : Array.isArray(alias) ? alias : [alias];
    for (const alias of aliases) options.set(alias.length === 1 ? `-${alias}` : `--${normal(alias)}`, option);
    if ('required' in def && def.required === true && def.default === undefined) required.push(name);
  }
  const given = new Set<string>();
  const values: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (arg === '--') {
      values.push(...rawArgs.slice(i + 1));
      break;
    }
    if (arg.startsWith('-') && arg !== '-' && !/^-\d/.test(arg)) {
      const equals = arg.indexOf('=');
      const flag = equals < 0 ? arg : arg.slice(0, equals);
      const option = options.get(flag.startsWith('--') ? `--${normal(flag.slice(2))}` : flag);
      if (!option) return `unknown option ${flag}`;
      given.add(option.name);
      if (option.takesValue && equals < 0) {
        if (i + 1 >= rawArgs.length) return `${flag} needs a value`;
        i++;
      }
      continue;
    }
    values.push(arg);
  }
  const missing = positionals.slice(values.length).find((p) => p.required);
  if (missing) return `missing ${missing.name.toUpperCase()}`;
  if (values.length > positionals.length) return `unexpected argument ${JSON.stringify(values[positionals.length])}`;
  const absent = required.find((name) => !given.has(name));
  if (absent) return `--${absent} is required`;
  return undefined;
}
