import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** This package's name and version, read once from its package.json (found upwards from this file: lib/ or dist/lib/). */
export const PACKAGE: { readonly name: string; readonly version: string } = readPackage();

/**
 * What a SIP line says it is (`User-Agent:` / `Server:`): `node-red-voice/0.1.0`. RFC 3261 §25.1: a
 * product token cannot hold the npm scope's `@` or `/`, so the scope is left out.
 */
export const SIP_USER_AGENT = `${PACKAGE.name.replace(/^@[^/]+\//, '')}/${PACKAGE.version}`;

function readPackage(): { name: string; version: string } {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (typeof pkg.name === 'string' && pkg.name.endsWith('node-red-voice') && typeof pkg.version === 'string') return { name: pkg.name, version: pkg.version };
    } catch {
      // no package.json here (or not ours): look further up
    }
    if (dirname(dir) === dir) return { name: 'node-red-voice', version: '0.0.0' };
  }
}
