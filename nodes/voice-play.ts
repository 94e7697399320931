import { LineSession } from './shared/line-session';
import { onInput } from './shared/on-input';
import type { Node, NodeAPI, NodeDef } from './shared/red-types';

interface VoicePlayDef extends NodeDef {
  line?: string;
  /** What to play: a WAV file path or a tone (`beep`, `ringback`, `silence:500`, `dtmf:123`); empty: msg.payload. */
  source?: string;
  /** Stop when the far end presses a DTMF key. */
  bargeIn?: boolean;
}

/**
 * `voice-play`: plays audio into a call (what the remote party hears): the node's source, else
 * `msg.payload` (a WAV file's bytes, raw 8 kHz 16-bit PCM, a WAV path or a tone name). Requests for
 * the same call are queued; the message goes on (`topic: played`) once its audio has played, was
 * stopped, or was interrupted by a DTMF key. `msg.stop = true` stops the call's playback and drops
 * its queue.
 */
export = function register(RED: NodeAPI): void {
  function VoicePlayNode(this: Node, def: VoicePlayDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const session = LineSession.open(RED, node, def.line, { follow: 'own-calls' });
    const configured = (def.source ?? '').trim();

    onInput(node, session, async (msg, line, send) => {
      if (msg.stop === true) {
        line.audio.stopPlaying(msg.call);
        return;
      }
      const source = configured || msg.payload;
      const bargeIn = msg.bargeIn ?? def.bargeIn === true;
      const { call, outcome } = await line.audio.play(msg.call, { source, bargeIn });
      msg.topic = 'played';
      msg.payload = outcome;
      msg.call = call.snapshot();
      send(msg);
    });
  }

  RED.nodes.registerType('voice-play', VoicePlayNode);
};
