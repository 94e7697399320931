import type { Forwarded } from '../lib/line/line-forwarding';
import { LineSession } from './shared/line-session';
import { FlowError } from './shared/flow-error';
import { numberFor } from './shared/message-number';
import { evaluateSetting, typedSetting } from './shared/typed-setting';
import { onInput } from './shared/on-input';
import type { NodeAPI, NodeDef, NodeMessage, Node } from './shared/red-types';

interface VoiceForwardDef extends NodeDef {
  line?: string;
  /** `rule`: network forwarding rule; `divert`: divert a ringing call; `transfer`: transfer a connected call. */
  mode?: string;
  /** Network rule: unconditional, busy, no-reply, not-reachable, all, all-conditional (checked by the line). */
  reason?: string;
  /** Network rule: disable, enable, query, register, erase (checked by the line). */
  forwardMode?: string;
  /**
   * Where to forward, divert or transfer to, or where to read it: a typed input (`numberType` str / msg /
   * flow / global / env; empty and untyped: msg.payload for divert and transfer, none for a rule).
   */
  number?: string;
  numberType?: string;
  /** Network rule, no-reply: seconds before the network forwards (5–30); empty: the network's default. */
  time?: string | number;
  /** Blind transfer: seconds to let the target ring. */
  ringTimeout?: string | number;
}

const MODES = ['rule', 'divert', 'transfer'] as const;
type Mode = (typeof MODES)[number];

/**
 * `voice-forward`: network call forwarding rules (voiceCall.setFw), diverting a ringing call, and
 * transferring a connected call (blind to a number, or attended to another call in `msg.target`).
 * What the line cannot do (a module without the service, a SIP line) comes back as the line's
 * "not supported" error.
 */
export = function register(RED: NodeAPI): void {
  function VoiceForwardNode(this: Node, def: VoiceForwardDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const session = LineSession.open(RED, node, def.line, { follow: 'own-calls' });
    const mode: Mode = (MODES as readonly string[]).includes(def.mode ?? '') ? (def.mode as Mode) : 'rule';
    const numberFrom = typedSetting(def.number, def.numberType);

    onInput(node, session, async (msg, line, send) => {
      /** A rule's number: the node's own, or read where its typed input says; none is fine (erase, query). */
      const ruleNumber = async (): Promise<unknown> => {
        if (numberFrom.type === 'str') return given(numberFrom.value);
        // A rule's number from a message is msg.forward.number: msg.payload is not read for rules.
        if (numberFrom.type === 'msg' && numberFrom.value === 'payload') return undefined;
        return evaluateSetting(RED, node, numberFrom, msg, 'forwarding number').catch(() => undefined);
      };
      if (mode === 'rule') {
        const f = forwardIn(msg);
        // A msg.forward with its own reason brings its own no-reply time: the node's belongs to its reason.
        const time = f.reason !== undefined ? f.time : (f.time ?? given(def.time));
        const result = await line.forwarding.setRule(f.reason ?? def.reason, f.mode ?? def.forwardMode, f.number ?? (await ruleNumber()), { time });
        const { rules, ...request } = result;
        msg.forward = request;
        msg.payload = rules ?? request;
        send(msg);
        return;
      }
      let done: Forwarded;
      if (mode === 'divert') {
        done = await line.forwarding.divert(msg.call, await numberFor(RED, node, numberFrom, msg, 'divert to'));
      } else if (msg.target !== undefined && msg.target !== null && msg.target !== '') {
        done = await line.forwarding.transferToCall(msg.call, msg.target);
      } else {
        const ringTimeout = msg.ringTimeout ?? given(def.ringTimeout);
        done = await line.forwarding.transfer(msg.call, await numberFor(RED, node, numberFrom, msg, 'transfer to'), { ringTimeout });
      }
      msg.call = done.call.snapshot();
      msg.payload = { to: done.to, ...(done.other ? { target: done.other.snapshot() } : {}) };
      send(msg);
    });
  }

  RED.nodes.registerType('voice-forward', VoiceForwardNode);
};

/** `msg.forward`: an object of overrides `{ reason, mode, number, time }`, or nothing. */
function forwardIn(msg: NodeMessage): { reason?: unknown; mode?: unknown; number?: unknown; time?: unknown } {
  const f = msg.forward;
  if (f === undefined || f === null) return {};
  if (typeof f !== 'object' || Array.isArray(f)) {
    throw new FlowError('msg.forward must be an object like { "reason": "busy", "mode": "register", "number": "+4930123" }', 'EINVAL');
  }
  return f as Record<string, unknown>;
}


/** An editor field's value, or undefined when it was left empty. */
function given<T>(value: T | '' | undefined): T | undefined {
  return value === '' || value === undefined ? undefined : value;
}
