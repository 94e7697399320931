import { outcome } from '../lib/line/voice-line';
import { LineSession } from './shared/line-session';
import { FlowError } from './shared/flow-error';
import { numberIn } from './shared/message-number';
import { onInput } from './shared/on-input';
import type { NodeAPI, NodeDef, Node } from './shared/red-types';

interface VoiceDialDef extends NodeDef {
  line?: string;
  /** The number (on a SIP line also a SIP address) to dial; empty: take it from the message. */
  number?: string;
  /** Seconds to let it ring before giving up (0: no limit of ours). */
  ringTimeout?: string | number;
  /** SIP: the caller ID (From user) of the calls it places; empty: the account's user name. */
  callerId?: string;
  /** SIP: the caller name (From display name); empty: the line's display name. */
  callerName?: string;
}

/**
 * `voice-dial`: places a call and waits for its outcome. Output 1: answered (`topic: answered`),
 * output 2: not answered (`topic: ended`, `payload.cause` and the evidence). The rest of the message
 * travels on unchanged.
 */
export = function register(RED: NodeAPI): void {
  function VoiceDialNode(this: Node, def: VoiceDialDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const session = LineSession.open(RED, node, def.line, { follow: 'own-calls' });
    const configured = (def.number ?? '').trim();

    onInput(node, session, async (msg, line, send) => {
      const number = configured || numberIn(msg);
      if (number === undefined) {
        throw new FlowError('no number to dial: set one in the node, or send it in msg.payload', 'EINVAL');
      }
      const ringTimeout = msg.ringTimeout ?? (def.ringTimeout || 0);
      // The line validates these (and refuses them on an AT line); `msg.sipHeaders`, not `msg.headers`,
      // which an HTTP request node leaves on its messages (the HTTP response's headers).
      const callerId = msg.callerId ?? ((def.callerId ?? '').trim() || undefined);
      const callerName = msg.callerName ?? ((def.callerName ?? '').trim() || undefined);
      // dialAndWait in two halves, so that the status follows the call while it rings.
      const call = await line.dial(number, { ringTimeout, callerId, callerName, headers: msg.sipHeaders });
      session.follow(call);
      const result = await outcome(call);
      msg.call = result.call.snapshot();
      if (result.answered) {
        msg.topic = 'answered';
        const answered = session.lastEvent(call.id);
        msg.payload = answered?.topic === 'answered' ? answered.payload : { state: call.state };
        send([msg, null]);
      } else {
        msg.topic = 'ended';
        msg.payload = { ...result.end };
        send([null, msg]);
      }
    });
  }

  RED.nodes.registerType('voice-dial', VoiceDialNode);
};
