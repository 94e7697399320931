import { LineSession } from './shared/line-session';
import { onInput } from './shared/on-input';
import type { NodeAPI, NodeDef, Node } from './shared/red-types';

interface VoiceHangupDef extends NodeDef {
  line?: string;
  /** `hangup`: end with cause normal; `reject`: end with `cause`. */
  mode?: string;
  /** A hangup cause (normal, busy, rejected, unavailable, changed-number, out-of-order, no-circuit, barred; checked by the line). */
  cause?: string;
}

/**
 * `voice-hangup`: ends the call in `msg.call` (or the line's only call): hangs up a connected call,
 * cancels an outgoing one, rejects an incoming one with a cause. Sends the message on with the call
 * as it is after the request.
 */
export = function register(RED: NodeAPI): void {
  function VoiceHangupNode(this: Node, def: VoiceHangupDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const session = LineSession.open(RED, node, def.line, { follow: 'own-calls' });
    const configuredCause = def.mode === 'reject' ? def.cause || 'busy' : 'normal';

    onInput(node, session, async (msg, line, send) => {
      const call = await line.hangup(msg.call, msg.cause ?? configuredCause);
      msg.call = call.snapshot();
      send(msg);
    });
  }

  RED.nodes.registerType('voice-hangup', VoiceHangupNode);
};
