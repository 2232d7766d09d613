import { readFileSync } from 'node:fs';

/** The Debian mirrors this machine's apt uses (deb822 sources), so DIB builds reach what apt reaches. */
export function aptMirrors(): { main: string; security: string } {
  const text = readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8');
  const uris = [...text.matchAll(/^URIs:\s*(\S+)/gm)].map((m) => m[1]!);
  const main = uris.find((uri) => !uri.includes('security'));
  const security = uris.find((uri) => uri.includes('security')) ?? main;
  if (!main || !security) throw new Error('no Debian mirror in /etc/apt/sources.list.d/debian.sources');
  return { main, security };
}
