import { GATHER_DEFAULTS, Gather } from '../lib/line/gather';
import { NodeActivity } from './shared/activity';
import { FlowError } from './shared/flow-error';
import { LineSession } from './shared/line-session';
import { onInput } from './shared/on-input';
import { evaluateSetting, typedSetting } from './shared/typed-setting';
import type { NodeAPI, NodeDef, NodeMessage, Node } from './shared/red-types';

interface VoiceDtmfDef extends NodeDef {
  line?: string;
  /** `send` or `collect`. */
  mode?: string;
  /** send: the digits, or where to read them (a typed input: `digitsType` str / msg / flow / global / env). */
  digits?: string;
  digitsType?: string;
  /** send: tone length in ms (100 to 1000). */
  duration?: string | number;
  /** collect: the gather settings as the editor keeps them (timeouts in seconds). */
  maxDigits?: string | number;
  finishKey?: string;
  firstDigitTimeout?: string | number;
  interDigitTimeout?: string | number;
}

/**
 * `voice-dtmf`: sends DTMF digits into a connected call (the message goes on when the modem took
 * them), or collects the digits the far end presses (a gather) and sends `{ digits, reason }`.
 * The call is `msg.call`, or the line's only connected call.
 */
export = function register(RED: NodeAPI): void {
  function VoiceDtmfNode(this: Node, def: VoiceDtmfDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const session = LineSession.open(RED, node, def.line, { follow: 'own-calls' });
    const activity = new NodeActivity(node, session);
    const collecting = def.mode === 'collect';
    const configured = collecting ? gatherSettings(def) : {};
    const digitsFrom = typedSetting(def.digits, def.digitsType);
    /** Gathers this node started and that still run: cancelled when the node closes. */
    const gathers = new Set<Gather>();
    node.on('close', (_removed, done) => {
      for (const g of gathers) g.cancel();
      done();
    });

    onInput(node, session, async (msg, line, send) => {
      if (!collecting) {
        const digits = await evaluateSetting(RED, node, digitsFrom, msg, 'digits to send');
        const call = await activity.during('sending…', () =>
          line.dtmf.send(msg.call, digits, { durationMs: msg.duration ?? (def.duration || undefined) }),
        );
        activity.follow(call);
        msg.call = call.snapshot();
        send(msg);
        return;
      }
      const options = { ...configured, ...overrides(msg.gather) };
      const result = await activity.during('collecting…', async () => {
        const gather = await line.dtmf.collect(msg.call, options, bargedIn(msg));
        activity.follow(gather.call);
        gathers.add(gather);
        try {
          return { call: gather.call, ...(await gather.result) };
        } finally {
          gathers.delete(gather);
        }
      });
      msg.topic = 'gather';
      msg.call = result.call.snapshot();
      msg.payload = { digits: result.digits, reason: result.reason };
      send(msg);
    });
  }

  RED.nodes.registerType('voice-dtmf', VoiceDtmfNode);
};

/**
 * The key that stopped a prompt, when the message comes from voice-play (`topic: "played"`,
 * `payload.digit`): the caller's first answer, so the gather counts it.
 */
function bargedIn(msg: NodeMessage): string {
  const payload = msg.payload as { digit?: unknown } | undefined;
  return msg.topic === 'played' && payload && typeof payload.digit === 'string' ? payload.digit : '';
}

/** The node's gather settings as gather options (seconds to ms); empty fields keep the defaults. */
function gatherSettings(def: VoiceDtmfDef): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const given = (v: unknown): boolean => v !== undefined && v !== null && String(v).trim() !== '';
  if (given(def.maxDigits)) out.maxDigits = def.maxDigits;
  if (def.finishKey !== undefined) out.finishKey = def.finishKey === '' ? GATHER_DEFAULTS.finishKey : def.finishKey;
  if (given(def.firstDigitTimeout)) out.firstDigitTimeoutMs = seconds(def.firstDigitTimeout);
  if (given(def.interDigitTimeout)) out.interDigitTimeoutMs = seconds(def.interDigitTimeout);
  return out;
}

/** Seconds from the editor as ms; a value that is not a number is passed on for the core to refuse. */
function seconds(value: unknown): unknown {
  const n = Number(value);
  return Number.isFinite(n) ? Math.round(n * 1000) : value;
}

/** `msg.gather`: an object of gather options (checked by the core), or nothing. */
function overrides(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new FlowError('msg.gather must be an object such as { "maxDigits": 4 }', 'EINVAL');
  }
  return value as Record<string, unknown>;
}
