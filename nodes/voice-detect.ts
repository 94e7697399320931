import { NodeActivity } from './shared/activity';
import { analysisSettings } from './shared/analysis-settings';
import { FlowError } from './shared/flow-error';
import { LineSession } from './shared/line-session';
import { onInput } from './shared/on-input';
import type { NodeAPI, NodeDef, Node } from './shared/red-types';

interface VoiceDetectDef extends NodeDef {
  line?: string;
  /** The far-end verdict's timeout, in seconds (1 to 30; empty: 5). */
  detectTimeout?: string | number;
  /** `answer` | `connect`: on a connected call both mean now. */
  detectStart?: string;
}

/**
 * `voice-detect`: says who is on a connected call (person, answering machine, fax): starts the line's
 * call analysis on `msg.call` and sends one message with the verdict (`topic: "far-end"`). The
 * events after it (`beep`, `greeting-end`) come from voice-events.
 */
export = function register(RED: NodeAPI): void {
  function VoiceDetectNode(this: Node, def: VoiceDetectDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const session = LineSession.open(RED, node, def.line, { follow: 'own-calls' });
    const activity = new NodeActivity(node, session);
    const options = { ...analysisSettings({ detectTimeout: def.detectTimeout, detectStart: def.detectStart }), detect: 'machine' as const };

    onInput(node, session, async (msg, line, send) => {
      const result = await activity.during('detecting…', async () => {
        const call = await line.analysis.start(msg.call, options);
        activity.follow(call);
        return { call, verdict: await line.analysis.result(call) };
      });
      if (!result.verdict) {
        throw new FlowError(`call ${result.call.id} ended before the far end was classified`, 'ENOCALL');
      }
      msg.topic = 'far-end';
      msg.call = result.call.snapshot();
      msg.payload = result.verdict;
      send(msg);
    });
  }

  RED.nodes.registerType('voice-detect', VoiceDetectNode);
};
