import type { VoiceEvent } from '../../lib/line/voice-line';

/** Anything that emits the line's `event` (a VoiceLine). */
interface EventSource {
  on(event: 'event', fn: (e: VoiceEvent) => void): unknown;
}

/**
 * Every event of a line, and `next()`: the first event of a topic (matching `pred`) not returned
 * before, looking at the events already seen too, so a wait started after the event still finds it;
 * each event is returned once, so two waits for the same topic get two events.
 */
export class EventLog {
  readonly events: VoiceEvent[] = [];
  /** Indexes of the events next() returned. */
  private readonly consumed = new Set<number>();
  private readonly waiters = new Set<() => void>();

  constructor(
    source: EventSource,
    private readonly defaultTimeoutMs: number,
  ) {
    source.on('event', (e: VoiceEvent) => {
      this.events.push(e);
      for (const w of [...this.waiters]) w();
    });
  }

  next(topic: string, pred: (e: VoiceEvent) => boolean = () => true, timeoutMs = this.defaultTimeoutMs): Promise<VoiceEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const i = this.events.findIndex((e, n) => !this.consumed.has(n) && e.topic === topic && pred(e));
        if (i < 0) return;
        this.consumed.add(i);
        done();
        resolve(this.events[i]);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no "${topic}" event within ${timeoutMs} ms; got: ${this.topics().join(', ')}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** The next `count` dtmf events, as [digit, source] pairs. */
  async dtmf(count: number): Promise<Array<[unknown, unknown]>> {
    const out: Array<[unknown, unknown]> = [];
    for (let i = 0; i < count; i++) {
      const e = await this.next('dtmf');
      out.push([e.payload.digit, e.payload.source]);
    }
    return out;
  }

  topics(): string[] {
    return this.events.map((e) => e.topic);
  }
}

/**
 * The `transfer` events of one call (every call's without `callId`), each as `<status>[ <sipCode>][ <cause>]`:
 * `started`, `accepted 202`, `progress 180`, `succeeded 200 normal`, `failed 486 target-busy`.
 */
export function transferSteps(events: { events: readonly VoiceEvent[] }, callId?: string): string[] {
  return events.events
    .filter((e) => e.topic === 'transfer' && (callId === undefined || e.call?.id === callId))
    .map((e) => [e.payload.status, e.payload.sipCode, e.payload.cause].filter((v) => v !== undefined).join(' '));
}
