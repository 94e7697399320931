import type { Call } from '../../lib/call/call';
import type { LineSession } from './line-session';
import type { Node, NodeStatus } from './red-types';
import { statusFor } from './status';

/**
 * What a node shows while it is busy with a call beyond the call's own state ("collecting…" while a
 * gather runs). A fixed vocabulary, like status.ts: a node names a word, never writes a literal.
 */
export type ActivityWord = 'sending…' | 'collecting…' | 'detecting…';

const ACTIVITY_LOOK: Required<Pick<NodeStatus, 'fill' | 'shape'>> = { fill: 'blue', shape: 'ring' };

/**
 * A node's activities over its {@link LineSession} status: while one runs, the node shows its word;
 * when the last one ends, the status goes back to what the session shows (the line's state and the
 * node's calls). A change of the line or of a call during an activity shows through, as it should.
 *
 * The calls given to {@link follow} are the session's (own-calls) ones, kept here too so that the
 * status after an activity is computed exactly as the session computes it.
 */
export class NodeActivity {
  private readonly calls = new Set<Call>();
  private running: ActivityWord[] = [];

  constructor(
    private readonly node: Node,
    private readonly session: LineSession,
  ) {}

  /** Follows `call` in the node's status (see `LineSession.follow`). */
  follow(call: Call): void {
    this.calls.add(call);
    this.session.follow(call);
  }

  /** Shows `word` while `work` runs; its result or error is passed on. */
  async during<T>(word: ActivityWord, work: () => Promise<T>): Promise<T> {
    this.running.push(word);
    this.show();
    try {
      return await work();
    } finally {
      this.running.splice(this.running.indexOf(word), 1);
      this.show();
    }
  }

  private show(): void {
    if (!this.session.open) return;
    const word = this.running.at(-1);
    if (word) {
      this.node.status({ ...ACTIVITY_LOOK, text: word });
      return;
    }
    const line = this.session.line;
    if (!line) return;
    for (const c of this.calls) if (c.ended) this.calls.delete(c);
    this.node.status(statusFor(line.status, [...this.calls].map((c) => c.state)));
  }
}
