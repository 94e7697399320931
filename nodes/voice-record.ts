import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { deniedPath } from '../lib/line/file-paths';
import type { AudioChunk, Recording, RecordingResult } from '../lib/capabilities/audio';
import type { RecordRequest } from '../lib/line/line-audio';
import { LineSession } from './shared/line-session';
import { closeWithin } from './shared/close-within';
import { toFlowError } from './shared/flow-error';
import { onInput } from './shared/on-input';
import type { Node, NodeAPI, NodeDef, NodeMessage, SendFn } from './shared/red-types';

interface VoiceRecordDef extends NodeDef {
  line?: string;
  /** `file`, `stream` or `both`. */
  mode?: string;
  format?: string;
  /** `rx`, `tx`, `both` (mixed) or `stereo` (one leg per channel: left rx, right tx). */
  direction?: string;
  chunkMs?: string | number;
  /**
   * The folder for the files (named for each call); empty: `<userDir>/voice-recordings`. A typed input
   * of two types (`folderType`): a path (`str`) or an environment variable (`env`), both read at deploy:
   * auto-record needs the folder without a message; a message's own path is `msg.path`, inside it.
   */
  folder?: string;
  folderType?: string;
  deleteOnModule?: boolean;
  /** Record every call of the line once it is answered. */
  autoRecord?: boolean;
  /** Take the file or folder from `msg.path` (inside the node's folder). Off unless ticked. */
  pathFromMsg?: boolean;
}

/**
 * `voice-record`: records a call into a file and/or streams its audio out as messages. One output:
 * stream chunks (`topic: audio`, per design §3) while it runs, then one `topic: recording` message
 * with the result. Started by a message (or, with auto-record, by every answered call); ended by the
 * call's end or a message with `msg.stop = true`.
 */
export = function register(RED: NodeAPI): void {
  function VoiceRecordNode(this: Node, def: VoiceRecordDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const session = LineSession.open(RED, node, def.line, { follow: 'own-calls' });
    const userDir = RED.settings?.userDir;
    const configured: RecordRequest = {
      mode: def.mode || 'file',
      format: def.format || 'wav',
      direction: def.direction || 'rx',
      chunkMs: def.chunkMs === undefined || def.chunkMs === '' ? undefined : def.chunkMs,
      path: folderOf(RED, node, def) || join(userDir ?? homedir(), 'voice-recordings'),
      deleteOnModule: def.deleteOnModule !== false,
    };
    /** The recordings this node runs, to stop them when it closes. */
    const running = new Set<Recording>();

    /** Sends a recording's chunks, then its result as `template` (a copy of the message that started it). */
    function follow(rec: Recording, send: SendFn, template: NodeMessage): Promise<RecordingResult> {
      running.add(rec);
      session.follow(rec.call);
      rec.on('chunk', (chunk: AudioChunk) => {
        send({ topic: 'audio', payload: chunk.payload, audio: chunk.audio, call: rec.call.snapshot() });
      });
      return new Promise((resolve, reject) => {
        rec.once('end', (result: RecordingResult) => {
          running.delete(rec);
          send({ ...template, topic: 'recording', payload: result, call: rec.call.snapshot() });
          resolve(result);
        });
        rec.once('error', (err: Error) => {
          running.delete(rec);
          reject(err);
        });
      });
    }

    onInput(node, session, async (msg, line, send) => {
      if (msg.stop === true) {
        await line.audio.stopRecording(msg.call);
        return;
      }
      const request: RecordRequest = {
        ...configured,
        ...pick(msg, ['mode', 'format', 'direction', 'channels', 'chunkMs', 'deleteOnModule']),
      };
      if (msg.path !== undefined) {
        // A path from a message (data from outside, maybe) stays inside the node's folder.
        if (def.pathFromMsg !== true) throw deniedPath('msg.path');
        request.path = msg.path;
        request.place = { folder: resolve(String(configured.path)), confine: true };
      }
      const rec = await line.audio.record(msg.call, request);
      await follow(rec, send, RED.util.cloneMessage(msg));
    });

    let stopAuto: (() => void) | null = null;
    if (def.autoRecord === true && session.line) {
      try {
        stopAuto = session.line.audio.autoRecord(
          configured,
          (rec) => follow(rec, (m) => session.open && node.send(m), {}).catch((err: Error) => node.error(toFlowError(err), { topic: 'recording', call: rec.call.snapshot() })),
          (err, call) => node.error(toFlowError(err), { topic: 'recording', call: call.snapshot() }),
        );
      } catch (err) {
        node.error(toFlowError(err));
      }
    }

    node.on('close', (_removed, done) =>
      closeWithin(
        node,
        async () => {
          stopAuto?.();
          await Promise.all([...running].map((rec) => rec.stop().catch(() => undefined)));
        },
        done,
      ),
    );
  }

  RED.nodes.registerType('voice-record', VoiceRecordNode);
};

/** The node's folder: its path, or the value of the environment variable it names (empty: the default). */
function folderOf(RED: NodeAPI, node: Node, def: VoiceRecordDef): string {
  const folder = (def.folder ?? '').trim();
  if (def.folderType !== 'env' || folder === '') return folder;
  let value: unknown;
  RED.util.evaluateNodeProperty(folder, 'env', node, {}, (_err, v) => {
    value = v;
  });
  return typeof value === 'string' ? value.trim() : '';
}

/** The properties of `msg` among `keys` that are set. */
function pick(msg: NodeMessage, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => msg[k] !== undefined).map((k) => [k, msg[k]]));
}
