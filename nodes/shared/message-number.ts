import { FlowError } from './flow-error';
import type { Node, NodeAPI, NodeMessage } from './red-types';
import { evaluateSetting, type TypedSetting } from './typed-setting';

/**
 * The number `msg.payload` gives: the payload as a string or a number, or `msg.payload.number`.
 * Checking it is the line's job; undefined when the message has none.
 */
export function numberIn(msg: NodeMessage): unknown {
  const p = msg.payload;
  if (typeof p === 'string' || typeof p === 'number') return p;
  if (p && typeof p === 'object' && 'number' in p) return (p as { number: unknown }).number;
  return undefined;
}

/**
 * The number (or SIP address) a node dials, diverts or transfers to, from its typed setting: a fixed
 * number, or where to read one (`msg.payload` keeps its two forms, see {@link numberIn}). `action` is
 * what the number is for ("dial", "divert to"), for the error when there is none.
 */
export async function numberFor(RED: NodeAPI, node: Node, from: TypedSetting, msg: NodeMessage, action: string): Promise<unknown> {
  if (from.type === 'msg' && from.value === 'payload') {
    const n = numberIn(msg);
    if (n === undefined || n === '') throw new FlowError(`no number to ${action}: set one in the node, or send it in msg.payload`, 'EINVAL');
    return n;
  }
  return evaluateSetting(RED, node, from, msg, `number to ${action}`);
}
