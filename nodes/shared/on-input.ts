import type { VoiceLine } from '../../lib/line/voice-line';
import { toFlowError } from './flow-error';
import { probeMessage } from './message-probe';
import type { LineSession } from './line-session';
import type { Node, NodeMessage, SendFn } from './red-types';

/** What a voice node does with one message: act on the line, send the result. Throws or rejects on failure. */
export type ActionHandler = (msg: NodeMessage, line: VoiceLine, send: SendFn) => Promise<void> | void;

/**
 * Registers a node's input handler. `done()` or `done(err)` is called exactly once per message: a
 * thrown or rejected error (a VoiceError becomes its user-facing message, see {@link toFlowError})
 * goes to `done(err)`, and so to the Catch node, always with a `code`. The message is read through
 * first ({@link probeMessage}): one whose properties throw when read fails with `EBADMSG`. A node without a usable line fails every message.
 * Results that arrive after the node closed (a redeploy during a dial) are not sent.
 */
export function onInput(node: Node, session: LineSession, handler: ActionHandler): void {
  node.on('input', (msg, send, done) => {
    const sendWhileOpen: SendFn = (out) => {
      if (session.open) send(out);
    };
    Promise.resolve()
      .then(() => {
        probeMessage(msg);
        return handler(msg, session.requireLine(), sendWhileOpen);
      })
      .then(
        () => done(),
        (err: unknown) => done(toFlowError(err)),
      );
  });
}
