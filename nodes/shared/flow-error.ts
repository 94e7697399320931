import { VoiceError } from '../../lib/errors';

/**
 * An error handed to a flow (`done(err)`, and so the Catch node and the debug sidebar). Its text is
 * the core's message alone, written for the person who drew the flow: `toString()` gives the message
 * without a class name, and `code` (`EINVAL`, `ENOCALL`, ...) reaches the Catch node as `msg.error.code`.
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
  // Anything else is a bug, not a user error: keep its class name and stack for the log.
  return err instanceof Error ? err : new Error(String(err));
}
