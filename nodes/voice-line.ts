import { VoiceLine, type LineConfig } from '../lib/line/voice-line';
import { closeWithin } from './shared/close-within';
import { lineDirectory, registerEditorApi } from './shared/editor-api';
import type { LineConfigNode } from './shared/line-session';
import type { NodeAPI, NodeDef } from './shared/red-types';

/** The `voice-line` node's properties in the flow JSON (the secrets are credentials, not here). */
interface VoiceLineDef extends NodeDef {
  backend?: string;
  serialPort?: string;
  pcmPort?: string;
  baudRate?: string | number;
  modem?: string;
  autoAnswer?: string | number;
  autoReject?: boolean;
  resetOnHang?: boolean;
  server?: string;
  transport?: string;
  username?: string;
  domain?: string;
  register?: boolean;
  localPort?: string | number;
  rtpPortMin?: string | number;
  rtpPortMax?: string | number;
  displayName?: string;
  outboundProxy?: string;
  /** Trunk mode: more `host[:port]` sources of calls, commas or spaces between them. */
  trustedSources?: string;
  /** Our address for SIP and RTP (bound, and named in Via, Contact and SDP). */
  localAddress?: string;
  /** `"PCMU,PCMA"`, `"PCMA,PCMU"`, `"PCMU"` or `"PCMA"`. */
  codecs?: string;
  dtmfMode?: string;
  maxCalls?: string | number;
  incomingRefer?: string;
  tlsVerify?: boolean;
  tlsCa?: string;
}

const SIP_TRANSPORTS = ['udp', 'tcp', 'tls', 'ws', 'wss'] as const;

/** A number property of the flow JSON (the editor stores strings), or undefined when empty. */
function optionalNumber(value: string | number | undefined): number | undefined {
  return value === undefined || value === '' ? undefined : Number(value);
}

const DEFAULT_BAUD_RATE = 115200;

/**
 * `voice-line`: the config node. It owns one {@link VoiceLine} (`node.line`); the nodes that use it
 * acquire and release it, so the modem is opened by the first and closed after the last. Its PIN and
 * password are Node-RED credentials, handed to the core and nowhere else.
 */
export = function register(RED: NodeAPI): void {
  function VoiceLineNode(this: LineConfigNode, def: VoiceLineDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const config: LineConfig = {
      id: node.id,
      name: def.name || undefined,
      backend: def.backend === 'sip' ? 'sip' : 'at',
      serialPort: (def.serialPort ?? '').trim(),
      pcmPort: (def.pcmPort ?? '').trim() || undefined,
      baudRate: def.baudRate === undefined || def.baudRate === '' ? DEFAULT_BAUD_RATE : Number(def.baudRate),
      modem: def.modem || 'auto',
      autoAnswer: def.autoAnswer === undefined || def.autoAnswer === '' ? 0 : Number(def.autoAnswer),
      autoReject: def.autoReject === true,
      resetOnHang: def.resetOnHang === true,
    };
    if (config.backend === 'sip') {
      Object.assign(config, {
        server: (def.server ?? '').trim(),
        transport: SIP_TRANSPORTS.find((t) => t === def.transport) ?? 'udp',
        username: (def.username ?? '').trim(),
        domain: (def.domain ?? '').trim() || undefined,
        register: def.register !== false,
        localPort: optionalNumber(def.localPort),
        rtpPortMin: optionalNumber(def.rtpPortMin),
        rtpPortMax: optionalNumber(def.rtpPortMax),
        displayName: (def.displayName ?? '').trim() || undefined,
        outboundProxy: (def.outboundProxy ?? '').trim() || undefined,
        trustedSources: (def.trustedSources ?? '').trim() || undefined,
        localAddress: (def.localAddress ?? '').trim() || undefined,
        codecs: (def.codecs ?? '').trim() || undefined,
        // Passed as written: the core refuses a value it does not know, naming the setting.
        dtmfMode: (def.dtmfMode || undefined) as LineConfig['dtmfMode'],
        maxCalls: optionalNumber(def.maxCalls),
        incomingRefer: (def.incomingRefer || undefined) as LineConfig['incomingRefer'],
        tlsVerify: def.tlsVerify !== false,
        tlsCa: (def.tlsCa ?? '').trim() || undefined,
      } satisfies Partial<LineConfig>);
    }
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
    lineDirectory.add(node.id, def.name || config.serialPort || config.server || node.id, node.line ?? null, node.lineError);
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
