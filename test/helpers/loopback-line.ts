/**
 * A line on an emulated module that outlives its port (a LoopbackDevice): unplug the cable, script the
 * module while it is away, plug it back. For the tests of a misbehaving modem.
 */
import { AtBackend, AtTiming } from '../../lib/at/modem-backend';
import { EmulatedModem } from '../../lib/at/emulator/emulated-modem';
import { FaultsFeature } from '../../lib/at/emulator/features/faults';
import { LoopbackDevice } from '../../lib/at/loopback-device';
import { LineStatus } from '../../lib/backend';
import { VoiceEvent, VoiceLine } from '../../lib/line/voice-line';
import { FAST_MODEM, memoryLog } from './at-harness';

/** Short command timeouts and resync, so that a hang is escalated in well under a second. */
export const HANG_TIMING: Partial<AtTiming> = {
  commandTimeoutMs: 150,
  callCommandTimeoutMs: 1500,
  resyncTimeoutMs: 80,
  resyncQuietMs: 40,
  pollMs: 40,
  pollWithUrcMs: 120,
  reconnectMinMs: 50,
  reconnectMaxMs: 200,
  restartWaitMs: 1000,
};

export interface LoopbackLine {
  line: VoiceLine;
  backend: AtBackend;
  device: LoopbackDevice;
  modem: EmulatedModem;
  faults: FaultsFeature;
  events: VoiceEvent[];
  statuses: LineStatus[];
  log: ReturnType<typeof memoryLog>;
  /**
   * The first event of `topic` (matching `pred`) after the one the previous call returned, waiting
   * for it if need be. `events` starts after the first line-up.
   */
  next(topic: string, pred?: (e: VoiceEvent) => boolean, timeoutMs?: number): Promise<VoiceEvent>;
  /** Waits until a status matches. */
  status(pred: (s: LineStatus) => boolean, timeoutMs?: number): Promise<LineStatus>;
  /** The topics of the events of one call, in order. */
  topicsOf(callId: string): string[];
  close(): Promise<void>;
}

export async function loopbackLine(
  profile: string,
  opts: { resetOnHang?: boolean; timing?: Partial<AtTiming>; modem?: EmulatedModem } = {},
): Promise<LoopbackLine> {
  const modem = opts.modem ?? new EmulatedModem(profile, { timing: FAST_MODEM });
  const device = LoopbackDevice.forModem(modem);
  const log = memoryLog();
  const backend = new AtBackend({
    lineId: 'L',
    path: `loopback:${profile}`,
    baudRate: 115200,
    modem: 'auto',
    log,
    timing: { ...HANG_TIMING, ...opts.timing },
    device,
    resetOnHang: opts.resetOnHang,
  });
  const line = new VoiceLine({ id: 'L', backend: 'at' }, { backendFactory: () => backend, log });
  const events: VoiceEvent[] = [];
  const statuses: LineStatus[] = [];
  const waiters = new Set<() => void>();
  const notify = (): void => waiters.forEach((w) => w());
  line.on('event', (e: VoiceEvent) => {
    events.push(e);
    notify();
  });
  line.on('status', (s: LineStatus) => {
    statuses.push(s);
    notify();
  });
  /** Events already returned by next(): each is returned once. */
  let consumed = 0;
  const waitUntil = <T>(what: string, find: () => T | undefined, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = find();
        if (found === undefined) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no ${what} within ${timeoutMs} ms; events: ${events.map((e) => e.topic).join(', ')}; statuses: ${statuses.map((s) => `${s.state} "${s.text}"`).join(' | ')}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const h: LoopbackLine = {
    line,
    backend,
    device,
    modem,
    faults: modem.feature<FaultsFeature>('faults'),
    events,
    statuses,
    log,
    next: (topic, pred = () => true, timeoutMs = 4000) =>
      waitUntil(`"${topic}" event`, () => {
        const i = events.findIndex((e, n) => n >= consumed && e.topic === topic && pred(e));
        if (i < 0) return undefined;
        consumed = i + 1;
        return events[i];
      }, timeoutMs),
    status: (pred, timeoutMs = 4000) => waitUntil('matching status', () => statuses.find(pred), timeoutMs),
    topicsOf: (callId) => events.filter((e) => e.call?.id === callId).map((e) => e.topic),
    close: async () => {
      await line.stop();
      modem.close();
    },
  };
  line.acquire('test');
  await h.next('line-up');
  // Tests look at what happens after the line came up.
  events.length = 0;
  consumed = 0;
  return h;
}
