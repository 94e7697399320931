import type { Call } from '../lib/call/call';
import type { VoiceLine } from '../lib/line/voice-line';
import { describe } from '../lib/validate';
import { FlowError } from './shared/flow-error';
import { LineSession } from './shared/line-session';
import { onInput } from './shared/on-input';
import type { NodeAPI, NodeDef, NodeMessage, Node } from './shared/red-types';

/** What one action leaves: the result (`msg.payload`) and the call it was about, if any. */
interface Result {
  payload: unknown;
  call?: Call;
}

type Action = (line: VoiceLine, msg: NodeMessage, value: () => unknown) => Promise<Result> | Result;

/**
 * The actions, each one call of `line.control` (lib/line/line-control.ts validates and does the work).
 * `value()` is the action's argument: msg.payload, else the node's value; an error when neither is set.
 */
const ACTIONS: Readonly<Record<string, Action>> = {
  hold: async (line, msg) => callResult(await line.control.hold(msg.call)),
  resume: async (line, msg) => callResult(await line.control.resume(msg.call)),
  swap: async (line) => {
    const { active, held } = await line.control.swap();
    return { call: active, payload: { active: active.snapshot(), held: held.snapshot() } };
  },
  mute: async (line) => ({ payload: await line.control.setMute(true) }),
  unmute: async (line) => ({ payload: await line.control.setMute(false) }),
  'mute-call': async (line, msg) => ({ call: await line.control.setCallMute(msg.call, true), payload: true }),
  'unmute-call': async (line, msg) => ({ call: await line.control.setCallMute(msg.call, false), payload: false }),
  'get-stats': (line, msg) => {
    const { call, stats } = line.control.stats(msg.call);
    return { call, payload: stats };
  },
  'set-volume': async (line, _msg, value) => ({ payload: await line.control.setVolume(value()) }),
  'get-volume': async (line) => ({ payload: await line.control.getVolume() }),
  'set-channel': async (line, _msg, value) => ({ payload: await line.control.setChannel(value()) }),
  'set-auto-answer': (line, _msg, value) => ({ payload: line.control.setAutoAnswer(value()) }),
  'set-auto-reject': (line, _msg, value) => ({ payload: line.control.setAutoReject(value()) }),
  'set-dtmf-detection': async (line, _msg, value) => ({ payload: await line.dtmf.setDetection(value()) }),
  'get-settings': async (line) => ({ payload: await line.control.settings() }),
  drain: (line) => ({ payload: line.control.setDraining(true) }),
  undrain: (line) => ({ payload: line.control.setDraining(false) }),
};

const CONTROL_ACTIONS = Object.keys(ACTIONS);

function callResult(call: Call): Result {
  return { call, payload: call.state };
}

interface VoiceControlDef extends NodeDef {
  line?: string;
  /** One of {@link CONTROL_ACTIONS}. */
  action?: string;
  /** The argument of the set-… actions, as typed in the editor. */
  value?: string;
}

/**
 * `voice-control`: hold / resume / swap calls, mute (the line, or one call), a call's media
 * statistics, volume, audio channel, auto-answer,
 * auto-reject and DTMF detection at run time, and reading them back. `msg.action` overrides the node's action;
 * `msg.payload` (a string, number or boolean) overrides its value. Sends the message on with
 * `msg.payload` the result and, for the call actions, `msg.call` the call.
 */
export = function register(RED: NodeAPI): void {
  function VoiceControlNode(this: Node, def: VoiceControlDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const session = LineSession.open(RED, node, def.line, { follow: 'own-calls' });

    onInput(node, session, async (msg, line, send) => {
      const action = msg.action ?? def.action;
      const act = typeof action === 'string' && Object.hasOwn(ACTIONS, action) ? ACTIONS[action] : undefined;
      if (!act) {
        throw new FlowError(`the action must be one of ${CONTROL_ACTIONS.join(', ')}, got ${describe(action)}`, 'EINVAL');
      }
      const value = (): unknown => {
        // An object payload is an event's or another node's result, never a setting: the node's value applies.
        const p = msg.payload;
        if (typeof p === 'string' ? p.trim() !== '' : typeof p === 'number' || typeof p === 'boolean') return p;
        if (def.value !== undefined && def.value !== '') return def.value;
        throw new FlowError(`${action as string} needs a value: set one in the node, or send it in msg.payload`, 'EINVAL');
      };
      const result = await act(line, msg, value);
      if (result.call) {
        session.follow(result.call);
        msg.call = result.call.snapshot();
      }
      msg.action = action;
      msg.payload = result.payload;
      send(msg);
    });
  }

  RED.nodes.registerType('voice-control', VoiceControlNode);
};
