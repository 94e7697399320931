import type { VoiceEvent } from '../lib/line/voice-line';
import { LineSession } from './shared/line-session';
import type { NodeAPI, NodeDef, NodeMessage, Node } from './shared/red-types';

interface VoiceEventsDef extends NodeDef {
  line?: string;
  /** The event names to send; absent: all of them. */
  events?: unknown;
}

/**
 * `voice-events`: every event of the line as a message `{ topic, call, payload }`, optionally only
 * some event names. Its status shows the line and the latest state of its calls.
 */
export = function register(RED: NodeAPI): void {
  function VoiceEventsNode(this: Node, def: VoiceEventsDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const wanted = Array.isArray(def.events) ? new Set(def.events.filter((e) => typeof e === 'string')) : null;
    LineSession.open(RED, node, def.line, {
      follow: 'every-call',
      onEvent: (event) => {
        if (!wanted || wanted.has(event.topic)) node.send(RED.util.cloneMessage(toMessage(event)));
      },
    });
  }

  RED.nodes.registerType('voice-events', VoiceEventsNode);
};

/** The message of one event; a line event (`line-up`...) has no `msg.call`. */
function toMessage(event: VoiceEvent): NodeMessage {
  const msg: NodeMessage = { topic: event.topic, payload: event.payload };
  if (event.call) msg.call = event.call;
  return msg;
}
