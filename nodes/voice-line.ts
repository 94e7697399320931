import { lineConfigFrom, VoiceLine, type LineConfig } from '../lib/line/voice-line';
import { closeWithin } from './shared/close-within';
import { lineDirectory, registerEditorApi } from './shared/editor-api';
import type { LineConfigNode } from './shared/line-session';
import type { NodeAPI, NodeDef } from './shared/red-types';

/**
 * The `voice-line` node's properties in the flow JSON (the secrets are credentials, not here): the
 * settings of lib/line/line-settings.ts and the backend's table, read by {@link lineConfigFrom}.
 */
type VoiceLineDef = NodeDef & Record<string, unknown>;

/**
 * `voice-line`: the config node. It owns one {@link VoiceLine} (`node.line`); the nodes that use it
 * acquire and release it, so the modem is opened by the first and closed after the last. Its PIN and
 * password are Node-RED credentials, handed to the core and nowhere else.
 */
export = function register(RED: NodeAPI): void {
  function VoiceLineNode(this: LineConfigNode, def: VoiceLineDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config: LineConfig = lineConfigFrom(node.id, def);
    try {
      node.line = new VoiceLine(config, {
        credentials: { pin: node.credentials?.pin || undefined, password: node.credentials?.password || undefined },
        log: {
          debug: (m) => node.debug(m),
          info: (m) => node.log(m),
          warn: (m) => node.warn(m),
          error: (m) => node.error(m),
        },
      });
    } catch (err) {
      // Bad settings (an auto-answer of -1...): the nodes using this line show why, and refuse messages.
      node.lineError = (err as Error).message;
      node.error(node.lineError);
    }
    lineDirectory.add(node.id, config.name || config.serialPort || config.server || node.id, node.line ?? null, node.lineError);
    node.on('close', (_removed, done) => {
      lineDirectory.remove(node.id);
      closeWithin(node, () => node.line?.stop() ?? Promise.resolve(), done);
    });
  }

  registerEditorApi(RED);

  RED.nodes.registerType('voice-line', VoiceLineNode, {
    credentials: { pin: { type: 'password' }, password: { type: 'password' } },
  });
};
