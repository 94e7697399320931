/**
 * The settings pipeline of a line: ONE table per backend (lib/sip/sip-line-settings.ts,
 * lib/at/at-line-settings.ts) says, for each setting, how the `voice-line` node's property is read
 * (the editor stores strings), its type (the line config's and the backend option's, derived from the
 * table), and how a bad value is refused (by the backend, naming the setting as the editor shows it).
 * A setting's name is the same from the flow JSON to the backend's options, so that adding one is
 * one table entry plus its editor field (docs/settings.md says how).
 */
import { InvalidInputError } from '../errors';
import { describe } from '../validate';

export interface Setting<T> {
  /** The flow JSON's property → the value, or undefined for "not set" (the backend's default applies). */
  read(raw: unknown): T | undefined;
  /** Refuses a bad value (InvalidInputError naming the setting). Runs when the backend is made. */
  check?(value: T): void;
}

export type SettingsTable = Readonly<Record<string, Setting<unknown>>>;

/** The typed settings a table describes (every one optional: absent = the default). */
export type SettingsOf<T extends SettingsTable> = { -readonly [K in keyof T]?: T[K] extends Setting<infer V> ? V : never };

/** Reads every setting of `table` from the node's properties; settings not set are left out. */
export function readSettings<T extends SettingsTable>(table: T, props: Readonly<Record<string, unknown>>): SettingsOf<T> {
  const out: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(table)) {
    const value = setting.read(props[key]);
    if (value !== undefined) out[key] = value;
  }
  return out as SettingsOf<T>;
}

/** Checks every setting given (the backend calls it with its options): the first bad one throws. */
export function checkSettings<T extends SettingsTable>(table: T, values: Readonly<Record<string, unknown>>): void {
  for (const [key, setting] of Object.entries(table)) {
    const value = values[key];
    if (value !== undefined) setting.check?.(value);
  }
}

/**
 * Text, trimmed. Empty is "not set" unless `keepEmpty` (a required setting: the backend then says
 * it is missing, in words).
 */
export function text(options: { keepEmpty?: boolean; fallback?: string } = {}): Setting<string> {
  return {
    read: (raw) => {
      const value = raw === undefined || raw === null ? '' : String(raw).trim();
      if (value !== '') return value;
      return options.fallback ?? (options.keepEmpty ? '' : undefined);
    },
  };
}

/**
 * A number (the editor stores `"5060"`); empty is "not set" (or `fallback`). A value that is not a
 * number reads as NaN, which the backend refuses naming the setting.
 */
export function number(options: { fallback?: number; check?: (value: number) => void } = {}): Setting<number> {
  return {
    read: (raw) => (raw === undefined || raw === null || raw === '' ? options.fallback : Number(raw)),
    ...(options.check ? { check: options.check } : {}),
  };
}

/** A checkbox: `true` / `false`; absent (an older flow) is `fallback`. */
export function flag(fallback: boolean): Setting<boolean> {
  return { read: (raw) => (raw === undefined || raw === null || raw === '' ? fallback : fallback ? raw !== false : raw === true) };
}

/**
 * One of `values`. Passed as written (empty: not set, or `fallback`): the backend refuses a value it
 * does not know, as `the <words> must be one of a, b, got "x"`.
 */
export function choice<V extends string>(values: readonly V[], words: string, fallback?: V): Setting<V> {
  return {
    read: (raw) => (raw === undefined || raw === null || raw === '' ? fallback : (raw as V)),
    check: (value) => {
      if (!values.includes(value)) throw new InvalidInputError(`the ${words} must be one of ${values.join(', ')}, got ${describe(value)}`);
    },
  };
}

/** The settings every line has, whatever its backend. */
export const LINE_SETTINGS = {
  name: text(),
  /** Seconds before an incoming call is answered automatically; 0 = off (the line checks it). */
  autoAnswer: number({ fallback: 0 }),
  /** Reject every incoming call. */
  autoReject: flag(false),
} as const;
