import { FlowError } from './flow-error';
import type { Node, NodeAPI, NodeMessage } from './red-types';

/** Where a typed-input field takes its value from, as Node-RED's core nodes offer it. */
export const TYPED_SOURCES = ['str', 'msg', 'flow', 'global', 'env'] as const;
export type TypedSource = (typeof TYPED_SOURCES)[number];

/** A typed-input property as the flow JSON keeps it: `number: "payload", numberType: "msg"`. */
export interface TypedSetting {
  value: string;
  type: TypedSource;
}

/**
 * Reads a typed-input property. A flow saved before the field was a typed input has no `…Type`: a
 * value set there is a fixed string, an empty one meant "from msg.payload", and keeps meaning that.
 */
export function typedSetting(value: unknown, type: unknown): TypedSetting {
  const v = typeof value === 'string' ? value.trim() : value === undefined || value === null ? '' : String(value);
  if ((TYPED_SOURCES as readonly unknown[]).includes(type)) {
    return { value: v === '' && type === 'msg' ? 'payload' : v, type: type as TypedSource };
  }
  return v === '' ? { value: 'payload', type: 'msg' } : { value: v, type: 'str' };
}

/** `msg.payload`, `flow.target`, `env PBX_EXT`, `"5551234"`: where a value came from, for errors. */
export function describeSetting(s: TypedSetting): string {
  if (s.type === 'str') return `the node's value "${s.value}"`;
  if (s.type === 'env') return `environment variable ${s.value}`;
  return `${s.type}.${s.value}`;
}

/**
 * The value of a typed setting for one message (context stores may be asynchronous). Empty (undefined,
 * null, '') is a FlowError that says where the node looked, so that a user knows what to set.
 */
export function evaluateSetting(RED: NodeAPI, node: Node, s: TypedSetting, msg: NodeMessage, what: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    try {
      RED.util.evaluateNodeProperty(s.value, s.type, node, msg, (err, value) => {
        // msg.a.b where msg.a is missing: as empty as msg.b missing (not a raw TypeError).
        if (err && s.type !== 'msg') reject(new FlowError(`cannot read the ${what} from ${describeSetting(s)}: ${err.message}`, 'EINVAL'));
        else if (err) reject(new FlowError(`no ${what}: ${describeSetting(s)} is empty`, 'EINVAL'));
        else if (value === undefined || value === null || value === '') reject(new FlowError(`no ${what}: ${describeSetting(s)} is empty`, 'EINVAL'));
        else resolve(value);
      });
    } catch (err) {
      reject(new FlowError(`cannot read the ${what} from ${describeSetting(s)}: ${(err as Error).message}`, 'EINVAL'));
    }
  });
}
