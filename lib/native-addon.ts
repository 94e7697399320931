/**
 * The package's Node-API addons (native/*.c, built by scripts/build-native.js into build/Release):
 * one loader for all of them, so that each says the same way why it is not in use.
 * Every addon is optional: its caller falls back to Node's own API (dgram, fs.write) with the reason.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Where node-gyp puts an addon: build/Release under the package's root (dist/lib → ../..). */
export function nativeAddonPath(file: string): string {
  return join(__dirname, '..', '..', 'build', 'Release', file);
}

/**
 * The addon `file` (e.g. `rtp_io.node`), or why not: the environment variable `off.variable` set to
 * `off.value` (to compare, or to rule it out), not Linux, not built, or it did not load.
 * `what` names it in the reason ("the native RTP I/O addon").
 */
export function loadNativeAddon<T>(file: string, what: string, off: { variable: string; value: string }): { addon: T; reason: null } | { addon: null; reason: string } {
  if (process.env[off.variable] === off.value) return { addon: null, reason: `${off.variable}=${off.value} is set` };
  if (process.platform !== 'linux') return { addon: null, reason: `${what} is for Linux (this is ${process.platform})` };
  const path = nativeAddonPath(file);
  if (!existsSync(path)) return { addon: null, reason: `${what} was not built (no ${path}: see scripts/build-native.js)` };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return { addon: require(path) as T, reason: null };
  } catch (err) {
    return { addon: null, reason: `${what} did not load: ${(err as Error).message}` };
  }
}
