import { resolve } from 'node:path';
import { InvalidInputError } from '../lib/errors';
import type { FilePlace } from '../lib/line/file-paths';
import { DEFAULT_MAX_WAV_BYTES } from '../lib/media/wav-file-source';
import { LineSession } from './shared/line-session';
import { onInput } from './shared/on-input';
import { evaluateSetting, typedSetting } from './shared/typed-setting';
import type { Node, NodeAPI, NodeDef } from './shared/red-types';

interface VoicePlayDef extends NodeDef {
  line?: string;
  /**
   * What to play: a WAV file path or a tone (`beep`, `ringback`, `silence:500`, `dtmf:123`), or where
   * to read it (a typed input, `sourceType`: str / msg / flow / global / env; empty and untyped: msg.payload).
   */
  source?: string;
  sourceType?: string;
  /** Stop when the far end presses a DTMF key. */
  bargeIn?: boolean;
  /**
   * The folder of the files: relative paths are resolved against it, and a path from a message must
   * stay inside it. Empty: Node-RED's `fileWorkingDirectory` setting, else its user directory.
   */
  folder?: string;
  /** Take a WAV path from `msg.payload` (inside the folder). Absent (nodes saved before): on. */
  pathFromMsg?: boolean;
  /** The largest WAV file to play, in MB (default 50). */
  maxSizeMB?: string | number;
}

/**
 * `voice-play`: plays audio into a call (what the remote party hears): the node's source, else
 * `msg.payload` (a WAV file's bytes, raw 8 kHz 16-bit PCM, a WAV path or a tone name). Requests for
 * the same call are queued; the message goes on (`topic: played`) once its audio has played, was
 * stopped, or was interrupted by a DTMF key. `msg.stop = true` stops the call's playback and drops
 * its queue. A WAV file is read as it plays; a path from the message stays inside the node's folder.
 */
export = function register(RED: NodeAPI): void {
  function VoicePlayNode(this: Node, def: VoicePlayDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const session = LineSession.open(RED, node, def.line, { follow: 'own-calls' });
    const sourceFrom = typedSetting(def.source, def.sourceType);
    // A file the node's settings name (a fixed value, an environment variable set at deploy) is the
    // user's own choice; one that comes with a message or from context stays inside the folder.
    const trusted = sourceFrom.type === 'str' || sourceFrom.type === 'env';
    const folder = resolve((def.folder ?? '').trim() || RED.settings?.fileWorkingDirectory || RED.settings?.userDir || '.');
    const own: FilePlace = { folder, confine: false };
    const fromMessage: FilePlace = { folder, confine: true, denied: def.pathFromMsg === false };
    const maxMB = def.maxSizeMB === undefined || def.maxSizeMB === '' ? DEFAULT_MAX_WAV_BYTES / 2 ** 20 : Number(def.maxSizeMB);

    onInput(node, session, async (msg, line, send) => {
      if (msg.stop === true) {
        line.audio.stopPlaying(msg.call);
        return;
      }
      if (!(maxMB > 0)) throw new InvalidInputError(`the largest file to play must be a number of MB above 0, got "${String(def.maxSizeMB)}"`);
      const source = await evaluateSetting(RED, node, sourceFrom, msg, 'audio to play');
      const bargeIn = msg.bargeIn ?? def.bargeIn === true;
      const place = trusted ? own : fromMessage;
      const { call, outcome } = await line.audio.play(msg.call, { source, bargeIn, place, maxFileBytes: Math.round(maxMB * 2 ** 20) });
      msg.topic = 'played';
      msg.payload = outcome;
      msg.call = call.snapshot();
      send(msg);
    });
  }

  RED.nodes.registerType('voice-play', VoicePlayNode);
};
