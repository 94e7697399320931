import { VoiceError } from '../../lib/errors';

/**
 * An error handed to a flow (`done(err)`, and so the Catch node and the debug sidebar). Its text is
 * the core's message alone, written for the person who drew the flow: `toString()` gives the message
 * without a class name, and `code` (`EINVAL`, `ENOCALL`, ...: the table in docs/nodes.md) reaches the
 * Catch node as `msg.error.code`. Every error a node hands to a flow is one.
 */
export class FlowError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'FlowError';
  }

  override toString(): string {
    return this.message;
  }
}

/** What a node passes to `done(err)` for anything thrown or rejected while handling a message. */
export function toFlowError(err: unknown): Error {
  if (err instanceof FlowError) return err;
  if (err instanceof VoiceError) {
    const e = new FlowError(err.message, err.code);
    e.stack = err.stack;
    return e;
  }
  // Anything else was not foreseen: a bug, or a message built to break things (a Proxy that throws
  // later than the probe could see). Our words and a code, the raw text beside them, its stack kept.
  const raw = err instanceof Error ? err.message : safeString(err);
  const e = new FlowError(`the message could not be handled: ${raw} (if it holds nothing unusual, this is a bug: please report it)`, 'EUNEXPECTED');
  if (err instanceof Error) e.stack = `${e.name}: ${e.message}\n  caused by ${err.stack ?? err.message}`;
  return e;
}

/** `String(value)`, or words for a value whose conversion throws (a hostile object). */
export function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return 'a value that cannot be shown';
  }
}
