import { describe } from '../validate';

/**
 * Argument checks shared by the media modules. Like node-serialport, a value out of range is a
 * `TypeError` that names the option, and nothing has happened yet.
 */

/** Throws unless `value` is a whole number in [min, max]. */
export function checkInt(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`"${name}" must be a whole number from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

/** Throws unless `value` is a finite number in [min, max]. */
export function checkNumber(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new TypeError(`"${name}" must be a number from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

/** Throws unless `value` is one of `allowed`. */
export function checkOneOf<T extends string | number>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new TypeError(`"${name}" must be one of ${allowed.join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

/** Throws unless `options` is undefined or a plain object; returns it (or `{}`). */
export function checkOptions<T extends object>(what: string, options: T | undefined): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${what} options must be an object, got ${describe(options)}`);
  }
  return options;
}
