import { outcome } from '../lib/line/voice-line';
import { LineSession } from './shared/line-session';
import { FlowError } from './shared/flow-error';
import { onInput } from './shared/on-input';
import type { NodeAPI, NodeDef, Node } from './shared/red-types';

interface VoiceAnswerDef extends NodeDef {
  line?: string;
}

/**
 * `voice-answer`: answers the call in `msg.call` (a call id or a call object), or the line's only
 * ringing call when there is none, and sends the message on once the call is connected.
 */
export = function register(RED: NodeAPI): void {
  function VoiceAnswerNode(this: Node, def: VoiceAnswerDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const session = LineSession.open(RED, node, def.line, { follow: 'own-calls' });

    onInput(node, session, async (msg, line, send) => {
      const call = await line.answer(msg.call);
      session.follow(call);
      const result = await outcome(call);
      if (!result.answered) {
        throw new FlowError(`call ${call.id} ended before it was answered (${result.end?.cause ?? 'ended'})`, 'ESTATE');
      }
      msg.topic = 'answered';
      msg.call = call.snapshot();
      send(msg);
    });
  }

  RED.nodes.registerType('voice-answer', VoiceAnswerNode);
};
