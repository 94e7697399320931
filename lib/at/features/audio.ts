/**
 * Call audio on a cellular module (design §4):
 *
 * - Recording into the module's file system, `AT+QAUDRD=1,"<file>",<format>,<dlink>` …
 *   `AT+QAUDRD=0`, then the file is downloaded (lib/at/module-files.ts) to the local path, and deleted
 *   on the module if asked. The module reports a failed recording with `+QAUDRIND: 0,<code>`.
 * - Streaming and playback over the PCM port, `AT+QPCMV=1,0` (EC2x/EG2x, lib/at/features/audio-pcm.ts).
 *
 * What each family can do is in its profile (`recording`, `pcmStream`, lib/at/modem-profile.ts), and
 * the `AT+QAUDRD=?` / `AT+QPCMV=?` probes after every initialisation have the last word.
 */
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import type { Call } from '../../call/call';
import { CallState } from '../../call/call-state';
import type {
  AudioCapability,
  AudioDirection,
  Playback,
  PlaybackResult,
  Recording,
  RecordingFormat,
  RecordingOptions,
  RecordingResult,
} from '../../capabilities';
import { CallAudioBase } from '../../capabilities/call-audio-base';
import { RecordingBase, RecordingEndedBy } from '../../capabilities/recording-base';
import { CallStateError, CommandFailedError, NotSupportedError } from '../../errors';
import { AudioChunker } from '../../media/audio-chunker';
import { sharedMediaClock } from '../../media/media-clock';
import type { PcmSource } from '../../media/pcm-source';
import { AtError } from '../at-channel';
import { AtFeatureContext, AtFeatureHooks } from '../at-feature';
import { RecordingProfile } from '../modem-profile';
import { ModuleFiles } from '../module-files';
import { recordingDurationMs } from './audio-file-info';
import { PcmPacer, TickClock } from './audio-pacer';
import { PcmSession, pick } from './audio-pcm';
import { openPcmPort } from './audio-pcm-port';

/** `+QAUDRIND: 0,<code>` (EC2x manual, AT+QAUDRD, table "URC +QAUDRIND"). */
const QAUDRIND_TEXT: Readonly<Record<number, string>> = {
  1: 'an unknown error (or a file of that name exists already)',
  3: 'no space left on the module',
  6: 'another audio task interrupted it',
};

/** How long `stop()` of the line lets recordings finish their download. */
const STOP_GRACE_MS = 5000;

const DIRECTION_WORDS: Readonly<Record<AudioDirection, string>> = {
  rx: 'the downlink (RX)',
  tx: 'the uplink (TX)',
  both: 'both directions mixed (MIX)',
};

export class AtAudio implements AudioCapability, AtFeatureHooks {
  readonly name = 'audio';
  readonly urcs: Readonly<Record<string, (line: string) => void>> = { '+QAUDRIND:': (line) => this.onQaudrind(line) };
  /** The line's PCM stream, shared by streams and playbacks. */
  readonly pcm: PcmSession;
  private readonly files: ModuleFiles;
  /** What the probes said: undefined before the first probe (then the profile decides). */
  private probed: { recording: RecordingProfile | null; pcm: boolean } | undefined;
  /** The module records one file at a time. */
  private moduleRecording: AtRecording | null = null;
  private readonly recordings = new Set<AtRecording>();
  private readonly playbacks = new Set<AtPlayback>();

  constructor(
    private readonly ctx: AtFeatureContext,
    private readonly clock: TickClock = sharedMediaClock,
  ) {
    this.files = new ModuleFiles(() => ctx.channel());
    this.pcm = new PcmSession(ctx, () => openPcmPort(ctx));
    this.pcm.on('lost', (err: Error) => {
      for (const r of this.recordings) if (r.options.streamChunkMs !== undefined) r.fail(err);
      for (const p of this.playbacks) p.fail(err);
    });
  }

  /** What the module records: `<format>` and `<dlink>` codes (probed, else from the profile), or null. */
  recordingSupport(): RecordingProfile | null {
    return this.probed ? this.probed.recording : (this.ctx.profile().recording ?? null);
  }

  /** Whether the module streams call audio on a PCM port (`AT+QPCMV`). */
  streamSupport(): boolean {
    return this.probed ? this.probed.pcm : this.ctx.profile().pcmStream === true;
  }

  async onReady(): Promise<void> {
    const profile = this.ctx.profile();
    const recording = profile.recording ? await this.probeRecording(profile.recording) : null;
    const pcm = profile.pcmStream ? await this.probePcm() : false;
    this.probed = { recording, pcm };
    await this.pcm.onReady();
  }

  onDown(): void {
    this.pcm.onDown();
  }

  async stop(): Promise<void> {
    const pending = [...this.recordings].map((r) => r.stop().catch(() => undefined));
    const playing = [...this.playbacks].map((p) => p.stop().catch(() => undefined));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)));
    await Promise.race([Promise.all([...pending, ...playing]), grace]);
    clearTimeout(timer);
    for (const r of this.recordings) r.fail(new CommandFailedError('the line closed before the recording was downloaded'));
    await this.pcm.stop();
  }

  async record(call: Call, options: RecordingOptions): Promise<Recording> {
    requireConnected(call, 'recorded');
    if (options.channels === 2) throw this.unsupported('recording one leg per channel (stereo)', 'the module records mono only');
    const wantsFile = options.file !== undefined;
    const wantsStream = options.streamChunkMs !== undefined;
    let format: number | undefined;
    let dlink: number | undefined;
    if (wantsFile) {
      const support = this.recordingSupport();
      if (!support) throw this.unsupported('recording calls');
      format = support.formats[options.format];
      if (format === undefined) throw this.unsupported(`recording in ${options.format.toUpperCase()}`);
      dlink = support.directions[options.direction];
      if (dlink === undefined) {
        const can = (Object.keys(support.directions) as AudioDirection[]).map((d) => d.toUpperCase()).join(' or ');
        throw this.unsupported(`recording ${DIRECTION_WORDS[options.direction]}`, `the module records ${can}`);
      }
      if (this.moduleRecording) {
        throw new CallStateError(`the module is recording call ${this.moduleRecording.call.id} already: it records one call at a time`);
      }
    }
    if (wantsStream && !this.streamSupport()) {
      throw this.unsupported('streaming call audio', 'the module has no PCM port (AT+QPCMV)');
    }
    const rec = new AtRecording(call, options, {
      ctx: this.ctx,
      files: this.files,
      pcm: this.pcm,
      module: wantsFile ? { file: moduleFileName(call, options.format), format: format!, dlink: dlink! } : null,
      onSettled: (r) => {
        this.recordings.delete(r);
        if (this.moduleRecording === r) this.moduleRecording = null;
      },
    });
    if (wantsFile) this.moduleRecording = rec;
    this.recordings.add(rec);
    await rec.start();
    return rec;
  }

  async play(call: Call, pcm: PcmSource): Promise<Playback> {
    requireConnected(call, 'played into');
    if (!this.streamSupport()) throw this.unsupported('playing audio', 'it has no PCM port (AT+QPCMV)', 'module');
    const playback = new AtPlayback(call, pcm, this.pcm, this.clock, this.ctx, (p) => this.playbacks.delete(p));
    this.playbacks.add(playback);
    await playback.start();
    return playback;
  }

  private unsupported(what: string, why?: string, where: 'line' | 'module' = 'line'): NotSupportedError {
    return new NotSupportedError(`${what} is not supported on this ${where} (${this.ctx.describeModem()})${why ? `: ${why}` : ''}`);
  }

  /** `AT+QAUDRD=?` → `+QAUDRD: (0,1),"filename",(3,13),(0,1)`: the formats and directions this module takes. */
  private async probeRecording(profile: RecordingProfile): Promise<RecordingProfile | null> {
    let line: string | undefined;
    try {
      line = (await this.ctx.channel().send('AT+QAUDRD=?', { expect: ['+QAUDRD:'] })).lines[0];
    } catch (err) {
      if (err instanceof AtError && err.kind === 'error') return null; // the firmware has no recorder
      this.ctx.log.debug(`AT+QAUDRD=?: ${(err as Error).message}; going by the profile`);
      return profile;
    }
    const lists = line === undefined ? null : parseQaudrdTest(line);
    if (!lists) return profile;
    const keep = <K extends string>(codes: Partial<Record<K, number>>, allowed: number[]) =>
      Object.fromEntries(Object.entries(codes).filter(([, c]) => allowed.includes(c as number))) as Partial<Record<K, number>>;
    return { formats: keep(profile.formats, lists.formats), directions: keep(profile.directions, lists.dlinks) };
  }

  private async probePcm(): Promise<boolean> {
    try {
      await this.ctx.channel().send('AT+QPCMV=?', { expect: ['+QPCMV:'] });
      return true;
    } catch (err) {
      if (err instanceof AtError && err.kind === 'error') return false;
      return true;
    }
  }

  /** `+QAUDRIND: 0,<code>`: the module stopped the recording by itself. */
  private onQaudrind(line: string): void {
    const m = /^\+QAUDRIND:\s*(\d+)\s*,\s*(\d+)/.exec(line);
    if (!m) {
      this.ctx.log.debug(`unreadable ${line}`);
      return;
    }
    const code = Number(m[2]);
    const rec = this.moduleRecording;
    if (!rec || code === 0) return;
    rec.fail(new CommandFailedError(`the module stopped recording: ${QAUDRIND_TEXT[code] ?? `error ${code}`} (${line})`, line));
  }
}

/** `+QAUDRD: (0,1),"filename",(3,13),(0,1)` → the lists of formats and dlinks; null when unreadable. */
export function parseQaudrdTest(line: string): { formats: number[]; dlinks: number[] } | null {
  const lists = [...line.matchAll(/\(([^)]*)\)/g)].map((m) => parseCodeList(m[1]));
  if (lists.length < 3 || lists.some((l) => l === null)) return null;
  return { formats: lists[1]!, dlinks: lists[2]! };
}

/** `0,1,2` or `0-2` or `3,13` → numbers. */
function parseCodeList(text: string): number[] | null {
  const out: number[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) for (let n = Number(range[1]); n <= Number(range[2]) && out.length < 100; n++) out.push(n);
    else if (/^\d+$/.test(part)) out.push(Number(part));
    else return null;
  }
  return out;
}

/**
 * `call1_20261122171005123.wav`: the modem's call index and the start time (UTC, to the millisecond),
 * so that two recordings never get the same name (the module refuses an existing one, +QAUDRIND: 0,1).
 */
export function moduleFileName(call: Call, format: RecordingFormat, at = new Date()): string {
  const stamp = at.toISOString().replace(/[-:T.Z]/g, '').slice(0, 17);
  return `call${call.index ?? 0}_${stamp}.${format}`;
}

function requireConnected(call: Call, what: string): void {
  if (call.state !== CallState.Active) {
    throw new CallStateError(`call ${call.id} is ${call.state}: only a connected call can be ${what}`);
  }
}

interface RecordingParts {
  ctx: AtFeatureContext;
  files: ModuleFiles;
  pcm: PcmSession;
  /** Recording into the module's file system: its file name and the AT+QAUDRD codes. */
  module: { file: string; format: number; dlink: number } | null;
  /** Called once, when the recording is over (before `stop()` resolves). */
  onSettled(rec: AtRecording): void;
}

/**
 * One recording: into the module's flash (downloaded when it ends), a PCM stream of chunks, or both.
 * It ends when the flow stops it or the call ends, whichever comes first.
 */
class AtRecording extends RecordingBase {
  private readonly startedAt = Date.now();
  private chunker: AudioChunker | null = null;
  private untap: (() => void) | null = null;
  private streamedSamples = 0;

  constructor(
    call: Call,
    options: Readonly<RecordingOptions>,
    private readonly parts: RecordingParts,
  ) {
    super(call, options);
  }

  async start(): Promise<void> {
    const { ctx, pcm, module } = this.parts;
    this.watchCall();
    try {
      if (this.options.streamChunkMs !== undefined) {
        this.chunker = new AudioChunker({ chunkMs: this.options.streamChunkMs, direction: this.options.direction });
        await pcm.acquire(this);
        this.untap = pcm.tap(this.onPcm);
      }
      if (module) {
        const cmd = `AT+QAUDRD=1,"${module.file}",${module.format},${module.dlink}`;
        try {
          await ctx.channel().send(cmd);
        } catch (err) {
          const why = err instanceof AtError && err.final ? `the module answered ${err.final}` : (err as Error).message;
          throw new CommandFailedError(`the module did not start recording: ${why}`, cmd);
        }
        ctx.log.debug(`recording call ${this.call.index ?? '?'} into ${module.file}`);
      }
    } catch (err) {
      this.unwatchCall();
      this.untap?.();
      await pcm.release(this);
      this.parts.onSettled(this);
      throw err;
    }
    if (this.call.ended) this.end('call-ended');
  }

  private readonly onPcm = (rx: Int16Array, tx: Int16Array): void => {
    const samples = pick(this.options.direction, rx, tx);
    this.streamedSamples += samples.length;
    for (const chunk of this.chunker!.push(samples)) this.emitChunk(chunk);
  };

  protected settled(): void {
    this.parts.onSettled(this);
  }

  protected async run(endedBy: RecordingEndedBy): Promise<RecordingResult> {
    const { ctx, pcm, module } = this.parts;
    if (this.untap) {
      this.untap();
      this.untap = null;
      const last = this.chunker!.flush();
      if (last) this.emitChunk(last);
      await pcm.release(this);
    }
    const result: RecordingResult = {
      bytes: 0,
      durationMs: Math.round(this.streamedSamples / 8),
      format: this.options.format,
      direction: this.options.direction,
      channels: 1,
      chunks: this.chunks,
      endedBy,
    };
    if (module) {
      result.moduleFile = module.file;
      await this.stopModule();
      if (this.failure) throw this.failure;
      const size = await this.parts.files.size(module.file);
      if (size === null) throw new CommandFailedError(`the module has no file ${module.file}: it recorded nothing`);
      const data = await this.parts.files.download(module.file, size);
      const path = this.options.file!;
      await writeWhole(path, data);
      if (this.options.deleteOnModule) {
        await this.parts.files.delete(module.file).catch((err: Error) => ctx.log.warn(`${err.message} (the recording is at ${path})`));
      }
      result.path = path;
      result.bytes = data.length;
      result.durationMs = recordingDurationMs(data, this.options.format) ?? Date.now() - this.startedAt;
    }
    if (this.failure) throw this.failure;
    return result;
  }

  /** `AT+QAUDRD=0`. A module that stopped by itself (the call ended) may refuse it: that is fine. */
  private async stopModule(): Promise<void> {
    try {
      await this.parts.ctx.channel().send('AT+QAUDRD=0');
    } catch (err) {
      this.parts.ctx.log.debug(`AT+QAUDRD=0: ${(err as Error).message}`);
    }
  }
}

/** Writes the file next to its place first and renames it, so that a failed write leaves no partial file. */
async function writeWhole(path: string, data: Buffer): Promise<void> {
  await fsp.mkdir(dirname(path), { recursive: true });
  const part = `${path}.part`;
  try {
    await fsp.writeFile(part, data);
    await fsp.rename(part, path);
  } catch (err) {
    await fsp.rm(part, { force: true });
    throw new CommandFailedError(`the recording could not be saved at ${path}: ${(err as Error).message}`);
  }
}

/**
 * Samples played into a call over the PCM port, paced by the shared media clock. How it ends once
 * (`stopped`: cut short by stop(), the call's end or a failure) is lib/capabilities/call-audio-base.ts.
 */
class AtPlayback extends CallAudioBase<PlaybackResult, boolean> implements Playback {
  private readonly pacer: PcmPacer;

  constructor(
    call: Call,
    pcm: PcmSource,
    private readonly session: PcmSession,
    clock: TickClock,
    private readonly ctx: AtFeatureContext,
    private readonly onSettled: (p: AtPlayback) => void,
  ) {
    super(call);
    this.pacer = new PcmPacer(pcm, (samples) => session.write(samples), clock);
    this.pacer.once('done', () => this.end(false));
  }

  async start(): Promise<void> {
    this.watchCall();
    try {
      await this.session.acquire(this);
    } catch (err) {
      this.unwatchCall();
      this.onSettled(this);
      throw err;
    }
    if (this.call.ended) this.end(true);
    else this.pacer.start();
  }

  stop(): Promise<PlaybackResult> {
    return this.finish(true);
  }

  protected settled(): void {
    this.onSettled(this);
  }

  protected callEnded(): void {
    this.end(true);
  }

  protected failedWhy(): boolean {
    return true;
  }

  protected async run(stopped: boolean): Promise<PlaybackResult> {
    this.pacer.stop();
    await this.session.release(this);
    this.ctx.log.debug(`played ${this.pacer.playedMs} ms into call ${this.call.index ?? '?'}${stopped ? ' (stopped)' : ''}`);
    if (this.failure) throw this.failure;
    return { playedMs: this.pacer.playedMs, stopped };
  }
}
