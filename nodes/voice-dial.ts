import { outcome } from '../lib/line/voice-line';
import { NodeActivity } from './shared/activity';
import { AnalysisSettingsDef, analysisSettings, withMessageDetect } from './shared/analysis-settings';
import { LineSession } from './shared/line-session';
import { numberFor } from './shared/message-number';
import { onInput } from './shared/on-input';
import { typedSetting } from './shared/typed-setting';
import type { NodeAPI, NodeDef, Node } from './shared/red-types';

interface VoiceDialDef extends NodeDef, AnalysisSettingsDef {
  line?: string;
  /**
   * The number (on a SIP line also a SIP address) to dial, or where to read it: a typed input
   * (`numberType` str / msg / flow / global / env; empty and untyped: msg.payload).
   */
  number?: string;
  numberType?: string;
  /** Seconds to let it ring before giving up (0: no limit of ours). */
  ringTimeout?: string | number;
  /** SIP: the caller ID (From user) of the calls it places; empty: the account's user name. */
  callerId?: string;
  /** SIP: the caller name (From display name); empty: the line's display name. */
  callerName?: string;
  /** Withhold our number (SIP Privacy: id, AT CLIR); `msg.privacy` wins. */
  privacy?: boolean;
  /**
   * With detection on: `wait` (default): the answered message waits for the far-end verdict and
   * carries it; `event`: it goes at once and the verdict comes later as a `far-end` event.
   */
  detectResult?: string;
}

/** The ring timeout of a voice-dial node saved without one (the editor's default), in seconds. */
const DEFAULT_RING_TIMEOUT_S = 30;

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
    const numberFrom = typedSetting(def.number, def.numberType);
    // A flow saved without a ring timeout gets the editor's default, not a call that rings for ever.
    const ringTimeoutS = def.ringTimeout === undefined || def.ringTimeout === '' ? DEFAULT_RING_TIMEOUT_S : def.ringTimeout;
    const activity = new NodeActivity(node, session);
    // Detection off unless asked (the line's analysis defaults to `machine`); tones and SIT: the line's defaults (on).
    const analysisConfigured = { detect: 'off' as const, ...analysisSettings(def) };
    const waitForVerdict = def.detectResult !== 'event';

    onInput(node, session, async (msg, line, send) => {
      const number = await numberFor(RED, node, numberFrom, msg, 'dial');
      const ringTimeout = msg.ringTimeout ?? ringTimeoutS;
      // The line validates these (and refuses them on an AT line); `msg.sipHeaders`, not `msg.headers`,
      // which an HTTP request node leaves on its messages (the HTTP response's headers).
      const callerId = msg.callerId ?? ((def.callerId ?? '').trim() || undefined);
      const callerName = msg.callerName ?? ((def.callerName ?? '').trim() || undefined);
      // dialAndWait in two halves, so that the status follows the call while it rings.
      const privacy = msg.privacy ?? (def.privacy === true ? true : undefined);
      const analysis = withMessageDetect(analysisConfigured, msg.detect);
      const call = await line.dial(number, { ringTimeout, callerId, callerName, headers: msg.sipHeaders, privacy, analysis });
      activity.follow(call);
      const result = await outcome(call);
      const answered = result.answered ? session.lastEvent(call.id) : undefined;
      // The verdict is the line's to wait for (line.analysis.result): null when the call ended first.
      const waits = result.answered && waitForVerdict && analysis.detect === 'machine';
      const verdict = waits ? await activity.during('detecting…', () => line.analysis.result(call)) : null;
      msg.call = call.snapshot();
      if (result.answered && !(waits && call.ended)) {
        msg.topic = 'answered';
        msg.payload = answered?.topic === 'answered' ? { ...answered.payload } : { state: call.state };
        // With a verdict, `evidence` is the far-end's (the answered event's own is on voice-events).
        if (verdict) Object.assign(msg.payload as object, verdict);
        send([msg, null]);
      } else {
        msg.topic = 'ended';
        msg.payload = { ...(result.answered ? call.end : result.end) };
        send([null, msg]);
      }
    });
  }

  RED.nodes.registerType('voice-dial', VoiceDialNode);
};
