import { BadMessageError } from '../../lib/errors';
import { safeString } from './flow-error';
import type { NodeMessage } from './red-types';

/** How far into a message the probe looks: levels, properties per object, objects in all. */
const MAX_DEPTH = 4;
const MAX_KEYS = 200;
const MAX_OBJECTS = 2000;

/**
 * Reads a message the way a node will, before it acts on it, so that a message that cannot be read
 * fails with a BadMessageError (`EBADMSG`) naming the property, instead of a raw JavaScript error from
 * somewhere inside: a getter that throws, a Proxy whose traps throw (get, ownKeys, getPrototypeOf...).
 * Own enumerable properties are read to a few levels; Buffers and typed arrays are not looked into;
 * an object met twice (a circular message) is read once, which is fine: nothing here serialises it.
 */
export function probeMessage(msg: NodeMessage): void {
  const seen = new Set<object>();
  // The keys from msg to the value being read: the path is put into words only when a read throws
  // (building it for every property read was most of the probe's cost per message).
  const keysTo: string[] = [];
  const where = (): string => keysTo.reduce((path, key) => (/^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`), 'msg');
  const walk = (value: unknown, depth: number): void => {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return;
    if (depth > MAX_DEPTH || seen.has(value) || seen.size >= MAX_OBJECTS) return;
    seen.add(value);
    let keys: string[];
    try {
      if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return;
      // An array's first entries only: Object.keys of a million-entry array is a million strings.
      keys = Array.isArray(value) ? Array.from({ length: Math.min(value.length, MAX_KEYS) }, (_, i) => String(i)) : Object.keys(value);
      // A property every object has (inherited): a Proxy whose get trap throws shows itself here.
      void (value as { constructor?: unknown }).constructor;
    } catch (err) {
      throw unreadable(where(), err);
    }
    const n = Math.min(keys.length, MAX_KEYS);
    for (let i = 0; i < n; i++) {
      const key = keys[i];
      keysTo.push(key);
      let v: unknown;
      try {
        v = (value as Record<string, unknown>)[key];
      } catch (err) {
        throw unreadable(where(), err);
      }
      walk(v, depth + 1);
      keysTo.pop();
    }
  };
  walk(msg, 0);
}

/** The words for a property that cannot be read, with what JavaScript said beside them. */
export function unreadable(path: string, err: unknown): BadMessageError {
  const raw = err instanceof Error ? err.message : safeString(err);
  return new BadMessageError(`the message cannot be read: ${path} threw when read (${raw.slice(0, 200)})`);
}
