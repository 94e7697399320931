import type { NodeMessage } from './red-types';

/**
 * The number a message gives a node that has none configured: `msg.payload` as a string or a number,
 * or `msg.payload.number`. Checking it is the line's job; undefined when the message has none.
 */
export function numberIn(msg: NodeMessage): unknown {
  const p = msg.payload;
  if (typeof p === 'string' || typeof p === 'number') return p;
  if (p && typeof p === 'object' && 'number' in p) return (p as { number: unknown }).number;
  return undefined;
}
