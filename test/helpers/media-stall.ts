/**
 * The stall of issue 12 part 3, shared by test/integration/media-stall.test.ts and bench/sip-load's
 * `--stall` step: a Node-RED `inject` that fires every second into a `function` node that computes
 * for 200 ms, i.e. the flow's thread blocked for 200 ms in every second while calls are up. A media
 * engine that keeps time sends every call's RTP on its 20 ms grid whatever that thread does.
 *
 * The proof that the thread really stalled is measured in the same process, beside the flow
 * ({@link StallWatch}: the event loop's delay, whose max must reach the stall); the packets' lateness
 * is measured outside it, by the RTP peer (bench/sip-load/rtp-peer.ts, a child process), against
 * each stream's 20 ms grid.
 */
import { monitorEventLoopDelay, IntervalHistogram } from 'node:perf_hooks';

/** How long the function node computes, ms, and how often, ms (the figures). */
export const STALL_MS = 200;
export const STALL_EVERY_MS = 1000;

/**
 * The stall's two nodes on flow tab `z` (ids `<prefix>-inject`, `<prefix>-block`). The inject waits
 * `firstAfterS` before its first message (let the calls come up), then repeats every second.
 */
export function stallNodes(z: string, prefix: string, firstAfterS = 0.1): object[] {
  return [
    {
      id: `${prefix}-inject`, type: 'inject', z, name: 'every second', props: [{ p: 'payload' }], repeat: String(STALL_EVERY_MS / 1000), crontab: '',
      once: true, onceDelay: String(firstAfterS), topic: '', payload: '', payloadType: 'date', wires: [[`${prefix}-block`]],
    },
    {
      id: `${prefix}-block`, type: 'function', z, name: `block ${STALL_MS} ms`, outputs: 1, noerr: 0, initialize: '', finalize: '', libs: [],
      // A busy loop, as a flow that computes (no await: the thread is held the whole time).
      func: `const end = Date.now() + ${STALL_MS};\nlet n = 0;\nwhile (Date.now() < end) n++;\nmsg.payload = n;\nreturn msg;`,
      wires: [[]],
    },
  ];
}

/** The event loop's delay in this process (the flow's thread) while it runs: the stalls, seen from inside. */
export class StallWatch {
  private readonly h: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.h.enable();
  }

  /** The longest delay seen, ms. */
  stop(): { maxMs: number; p99Ms: number } {
    this.h.disable();
    return { maxMs: this.h.max / 1e6, p99Ms: this.h.percentile(99) / 1e6 };
  }
}
