import type { VoiceEvent, VoiceLine } from '../../lib/line/voice-line';
import type { Call } from '../../lib/call/call';
import { CallState } from '../../lib/call/call-state';
import { closeWithin } from './close-within';
import { FlowError } from './flow-error';
import type { Node, NodeAPI } from './red-types';
import { statusFor, statusOf } from './status';

/** The `voice-line` config node as the other nodes see it. */
export interface LineConfigNode extends Node {
  /** Absent when the node's settings could not make a line (see `lineError`). */
  line?: VoiceLine;
  /** Why the settings could not make a line, for the nodes that use it. */
  lineError?: string;
}

export interface LineSessionOptions {
  /**
   * Which calls the node's status follows: `every-call` of the line (`voice-events`), or only the
   * `own-calls` the node acted on (given to {@link LineSession.follow}).
   */
  follow: 'every-call' | 'own-calls';
  /** Every event of the line, after the session has taken note of it. */
  onEvent?: (event: VoiceEvent) => void;
}

const NO_LINE = 'no line configured';

/**
 * One node's use of a line: acquires it (the first user connects it), listens to its `status` and
 * `event`, keeps the node's status up to date, and on close removes every listener it added and
 * releases the line (the last user disconnects it) before Node-RED's `done`.
 *
 * A node without a usable line still gets a session: its status says why, and
 * {@link LineSession.requireLine} turns every message into that error.
 */
export class LineSession {
  readonly line: VoiceLine | null;
  private readonly problem: string | null;
  /** The live calls this node follows, with the latest event of each. */
  private readonly calls = new Map<string, { state: CallState; last?: VoiceEvent }>();
  /**
   * How many of {@link calls} are in each state: the status depends on which states are there only,
   * so `show` reads these few keys, not every call (an event per call at 500 calls made it O(calls)).
   */
  private readonly states = new Map<CallState, number>();
  private isOpen = true;
  /** The status last shown, so that an event that changes nothing for this node sends nothing to the editor. */
  private shown = '';
  private readonly onStatus = (): void => this.show();
  private readonly onEvent = (event: VoiceEvent): void => this.take(event);

  /** Opens the session of `node` on the config node whose id is `lineId` (the node's `line` property). */
  static open(RED: NodeAPI, node: Node, lineId: unknown, options: LineSessionOptions): LineSession {
    const configNode = typeof lineId === 'string' && lineId ? (RED.nodes.getNode(lineId) as LineConfigNode | null) : null;
    return new LineSession(node, configNode, options);
  }

  private constructor(
    private readonly node: Node,
    configNode: LineConfigNode | null,
    private readonly options: LineSessionOptions,
  ) {
    this.line = configNode?.line ?? null;
    this.problem = !configNode ? NO_LINE : this.line ? null : (configNode.lineError ?? 'the line settings are not valid');
    if (this.line) {
      // Listen first: the line may report its first status while it is being acquired.
      this.line.on('status', this.onStatus);
      this.line.on('event', this.onEvent);
      this.line.acquire(node.id);
    }
    this.show();
    node.on('close', (_removed, done) => closeWithin(node, () => this.close(), done));
  }

  /** False once the node is closing: nothing more is sent. */
  get open(): boolean {
    return this.isOpen;
  }

  /** The line to act on, or a {@link FlowError} saying why there is none. */
  requireLine(): VoiceLine {
    if (this.line) return this.line;
    throw this.problem === NO_LINE
      ? new FlowError(`${NO_LINE}: choose a voice-line in this node's settings`, 'ENOLINE')
      : new FlowError(`the line cannot be used: ${this.problem}`, 'ENOLINE');
  }

  /** Makes the node's status follow `call` (a call it dialled or answered) until the call ends. */
  follow(call: Call): void {
    if (call.ended || this.calls.has(call.id)) return;
    this.setCall(call.id, { state: call.state });
    this.show();
  }

  /** The latest event of a followed call, if it is still live. */
  lastEvent(callId: string): VoiceEvent | undefined {
    return this.calls.get(callId)?.last;
  }

  private take(event: VoiceEvent): void {
    const call = event.call;
    if (call && (this.options.follow === 'every-call' || this.calls.has(call.id))) {
      if (call.state === CallState.Ended) this.setCall(call.id, undefined);
      else this.setCall(call.id, { state: call.state, last: event });
    }
    this.show();
    try {
      this.options.onEvent?.(event);
    } catch (err) {
      // The line emits from inside the core's call handling: a failing node must not break it.
      this.node.error(err instanceof Error ? err : String(err));
    }
  }

  /** Sets (or, `undefined`, forgets) a followed call, its state counted in {@link states}. */
  private setCall(id: string, entry: { state: CallState; last?: VoiceEvent } | undefined): void {
    const old = this.calls.get(id);
    if (old) {
      const n = (this.states.get(old.state) ?? 1) - 1;
      if (n > 0) this.states.set(old.state, n);
      else this.states.delete(old.state);
    }
    if (entry) {
      this.calls.set(id, entry);
      this.states.set(entry.state, (this.states.get(entry.state) ?? 0) + 1);
    } else {
      this.calls.delete(id);
    }
  }

  private show(): void {
    if (!this.isOpen) return;
    const status = this.line
      ? statusFor(this.line.status, this.states.keys())
      : statusOf('error', this.problem ?? NO_LINE);
    const key = JSON.stringify(status);
    if (key === this.shown) return;
    this.shown = key;
    this.node.status(status);
  }

  private async close(): Promise<void> {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.calls.clear();
    this.states.clear();
    if (!this.line) return;
    this.line.off('status', this.onStatus);
    this.line.off('event', this.onEvent);
    await this.line.release(this.node.id);
  }
}
