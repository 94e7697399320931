/**
 * The emulated module's call audio: `AT+QAUDRD` recording into its own file system, the file commands
 * (`AT+QFLST`, `AT+QFDWL`, `AT+QFDEL`) and the PCM port of `AT+QPCMV`, per profile as the real
 * families behave (lib/at/modem-profile.ts says why):
 *
 * | profile | AT+QAUDRD `<dlink>`            | AT+QPCMV |
 * |---------|--------------------------------|----------|
 * | ec600n  | 0 uplink, 1 downlink, 2 mixed  | no (UART-only board) |
 * | ec200u  | 0, 1, 2                        | no (UART-only board) |
 * | ec25    | 0, 1 (no MIX on EC2x)          | yes      |
 * | generic | none (plain 27.007)            | no       |
 *
 * What it records is deterministic: the far end "says" a 1 kHz tone, we "say" a 500 Hz tone (both
 * −10 dBFS, phase 0 at the start), for as long as the recording ran. A WAV file is 8 kHz 16-bit
 * mono; an AMR file is `#!AMR\n` and one 12.2 kbit/s frame (32 bytes) per 20 ms, of silence content.
 *
 * The PCM port (`openPcmPort()`, for `sim:` lines) streams the 1 kHz downlink in real time while
 * `AT+QPCMV=1,0` is on and a call is connected, and keeps what the host writes to it (`uplink()`), so
 * a test can check that a played tone arrived; `farEndSays()` puts other audio on the downlink (a
 * greeting, a "hello"). Its timers run through `host.schedule`.
 */
import { Duplex } from 'node:stream';
import { int16ToPcm16le, pcm16leToInt16 } from '../../../media/g711';
import { tones } from '../../../media/tone-generator';
import { wavHeader } from '../../../media/wav-header';
import { AtCommand } from '../at-command';
import { EmulatorFeature, EmulatorFeatureFactory, EmulatorHost, EmulatorReply } from '../emulator-feature';
import type { EmulatedCallInfo } from '../emulated-modem';

/** The far end's tone in recordings and on the PCM downlink, and ours in uplink recordings. */
export const EMULATED_RX_HZ = 1000;
export const EMULATED_TX_HZ = 500;
const LEVEL_DBFS = -10;
const FORMAT_AMR = 3;
const FORMAT_WAV = 13;
/** AT+QFLST / AT+QFDWL / AT+QFDEL: file not found (Quectel FILE error code). */
const CME_FILE_NOT_FOUND = 405;
const CME_NOT_ALLOWED = 3;
const CME_NOT_SUPPORTED = 4;
const CME_BAD_PARAMETER = 50;
/** The downlink is sent in 20 ms pieces. */
const PCM_TICK_MS = 20;
/** The uplink kept for tests: 2 minutes. */
const MAX_UPLINK_BYTES = 120 * 16000;
/** One AMR-NB 12.2 kbit/s frame: header (FT 7, Q 1) and 31 bytes. */
const AMR_FRAME = Buffer.concat([Buffer.from([0x3c]), Buffer.alloc(31)]);

interface AudioTraits {
  /** `<dlink>` values AT+QAUDRD takes. */
  dlinks: readonly number[];
  /** AT+QPCMV on a USB port. */
  pcm: boolean;
}

const TRAITS: Readonly<Record<string, AudioTraits | null>> = {
  ec600n: { dlinks: [0, 1, 2], pcm: false },
  ec200u: { dlinks: [0, 1, 2], pcm: false },
  ec25: { dlinks: [0, 1], pcm: true },
  generic: null,
};

export interface EmulatedRecording {
  file: string;
  format: 'wav' | 'amr';
  dlink: number;
  /** The call it records (the connected one when it started), if any. */
  callIdx?: number;
  startedAt: number;
}

/** The audio feature's scripting API (`modem.feature<EmulatorAudio>('audio')`). */
export interface EmulatorAudio extends EmulatorFeature {
  /** The module's files: name → content. */
  readonly files: ReadonlyMap<string, Buffer>;
  /** The recording in progress. */
  readonly recording: EmulatedRecording | null;
  /** `AT+QPCMV=1,...` is on. */
  readonly pcmEnabled: boolean;
  /** Puts a file on the module (as if recorded earlier). */
  putFile(name: string, content: Buffer): void;
  /** The next `AT+QFDWL` damages one byte on the way, but reports the right checksum. */
  corruptNextDownload(): void;
  /** Stops the recording in progress with `+QAUDRIND: 0,<code>` (3: no space, 6: interrupted). No file is kept. */
  failRecording(code: number): void;
  /** A new host end of the PCM port (closing the previous one). */
  openPcmPort(): Duplex;
  /** Everything the host wrote to the PCM port while AT+QPCMV was on, as samples. */
  uplink(): Int16Array;
  /** Samples sent on the downlink so far. */
  readonly downlinkSamples: number;
  /**
   * What the far end says on the PCM downlink from now on: these samples, then silence (a person
   * waiting, a machine recording); `null`: the 1 kHz tone again. For the call analysis tests.
   */
  farEndSays(pcm: Int16Array | null): void;
}

/** Quectel's 16-bit XOR checksum of AT+QFDWL, written here on its own (the emulator shares no code with lib/at). */
function xorChecksum(data: Buffer): string {
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) sum ^= (data[i] << 8) | (data[i + 1] ?? 0);
  return sum.toString(16);
}

/** The audio a recording of `ms` holds, for `dlink` 0 (ours), 1 (theirs) or 2 (both). */
function recordedSamples(dlink: number, ms: number): Int16Array {
  const parts =
    dlink === 0
      ? [{ hz: EMULATED_TX_HZ, levelDbfs: LEVEL_DBFS }]
      : dlink === 1
        ? [{ hz: EMULATED_RX_HZ, levelDbfs: LEVEL_DBFS }]
        : [
            { hz: EMULATED_RX_HZ, levelDbfs: LEVEL_DBFS - 6 },
            { hz: EMULATED_TX_HZ, levelDbfs: LEVEL_DBFS - 6 },
          ];
  return tones(parts, ms);
}

function recordedFile(rec: EmulatedRecording, ms: number): Buffer {
  if (rec.format === 'amr') {
    const frames = Math.round(ms / 20);
    return Buffer.concat([Buffer.from('#!AMR\n', 'latin1'), ...Array.from({ length: frames }, () => AMR_FRAME)]);
  }
  const pcm = int16ToPcm16le(recordedSamples(rec.dlink, ms));
  return Buffer.concat([wavHeader(8000, 1, pcm.length), pcm]);
}

/** The host's end of the emulated PCM port. */
class EmulatedPcmPort extends Duplex {
  isOpen = true;

  constructor(private readonly onUplink: (bytes: Buffer) => void) {
    super();
  }

  override _read(): void {
    // The downlink is pushed by the module's clock.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.onUplink(chunk);
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.isOpen = false;
    callback(err);
  }

  close(callback?: () => void): void {
    this.once('close', () => callback?.());
    this.destroy();
  }
}

export const audioFeature: EmulatorFeatureFactory = (host: EmulatorHost): EmulatorAudio => {
  const traits = host.profile.name in TRAITS ? TRAITS[host.profile.name] : host.profile.quectel ? TRAITS.ec600n : null;
  const files = new Map<string, Buffer>();
  let recording: EmulatedRecording | null = null;
  let corruptNext = false;
  let pcmOn = false;
  let port: EmulatedPcmPort | null = null;
  let uplinkBytes: Buffer[] = [];
  let uplinkSize = 0;
  /** The downlink's clock: when it (re)started and how many samples it has sent since. */
  let downlink: { since: number; sent: number } | null = null;
  let downlinkTotal = 0;
  let ticking = false;
  const rxPeriod = tones([{ hz: EMULATED_RX_HZ, levelDbfs: LEVEL_DBFS }], 1); // exactly one period: 8 samples
  /** The far end's words on the downlink (farEndSays), and how much of them was sent. */
  let says: { pcm: Int16Array; at: number } | null = null;

  const ok = (info?: string[]): EmulatorReply => host.ok(info);
  const connected = (): boolean => host.calls().some((c) => c.state === 'active');

  const saveRecording = (): void => {
    const rec = recording;
    if (!rec) return;
    recording = null;
    files.set(rec.file, recordedFile(rec, Date.now() - rec.startedAt));
    host.log.debug(`emulated ${host.profile.model}: recorded ${rec.file}`);
  };

  host.modem.on('call-changed', (info: EmulatedCallInfo) => {
    if (info.state === 'ended' && recording && recording.callIdx === info.idx) saveRecording();
    if (pcmOn) startTicking();
  });

  const qaudrd = (cmd: AtCommand): EmulatorReply => {
    if (cmd.kind === 'test') return ok([`+QAUDRD: (0,1),"filename",(${FORMAT_AMR},${FORMAT_WAV}),(${traits!.dlinks.join(',')})`]);
    if (cmd.kind === 'read') return ok([`+QAUDRD: ${recording ? 1 : 0}`]);
    if (cmd.kind !== 'set') return host.error();
    const [control, file, formatText, dlinkText = '0'] = cmd.args;
    if (control === '0') return { final: 'OK', after: saveRecording };
    if (control !== '1' || !file) return host.cme(CME_BAD_PARAMETER);
    if (recording) return host.cme(CME_NOT_ALLOWED);
    const format = Number(formatText);
    const dlink = Number(dlinkText);
    const extension = file.toLowerCase().split('.').pop();
    // The manual: a format that does not match the file's extension is an error.
    const kind = format === FORMAT_WAV && extension === 'wav' ? 'wav' : format === FORMAT_AMR && extension === 'amr' ? 'amr' : null;
    if (!kind || !traits!.dlinks.includes(dlink)) return host.cme(CME_BAD_PARAMETER);
    if (files.has(file)) return { final: 'OK', after: () => host.urc('+QAUDRIND: 0,1') };
    const call = host.calls().find((c) => c.state === 'active');
    return {
      final: 'OK',
      after: () => {
        recording = { file, format: kind, dlink, callIdx: call?.idx, startedAt: Date.now() };
      },
    };
  };

  const listed = (name: string): string => `+QFLST: "${name}",${files.get(name)!.length}`;

  const qflst = (cmd: AtCommand): EmulatorReply => {
    if (cmd.kind === 'test') return ok();
    const pattern = cmd.kind === 'set' ? (cmd.args[0] ?? '') : '*';
    if (pattern === '*') return ok([...files.keys()].map(listed));
    return files.has(pattern) ? ok([listed(pattern)]) : host.cme(CME_FILE_NOT_FOUND);
  };

  const qfdwl = (cmd: AtCommand): EmulatorReply => {
    if (cmd.kind === 'test') return ok(['+QFDWL: <filename>']);
    if (cmd.kind !== 'set') return host.error();
    const content = files.get(cmd.args[0] ?? '');
    if (!content) return host.cme(CME_FILE_NOT_FOUND);
    const sent = Buffer.from(content);
    if (corruptNext && sent.length > 0) sent[sent.length >> 1] ^= 0x5a;
    corruptNext = false;
    return {
      final: 'CONNECT',
      after: () => {
        host.modem.injectData(sent);
        host.modem.injectData(`\r\n+QFDWL: ${content.length},${xorChecksum(content)}\r\n\r\nOK\r\n`);
      },
    };
  };

  const qfdel = (cmd: AtCommand): EmulatorReply => {
    if (cmd.kind === 'test') return ok();
    if (cmd.kind !== 'set') return host.error();
    const name = cmd.args[0] ?? '';
    if (name === '*') {
      files.clear();
      return ok();
    }
    return files.delete(name) ? ok() : host.cme(CME_FILE_NOT_FOUND);
  };

  const qpcmv = (cmd: AtCommand): EmulatorReply => {
    if (!traits?.pcm) return host.error();
    if (cmd.kind === 'test') return ok(['+QPCMV: (0,1),(0-2)']);
    if (cmd.kind === 'read') return ok([`+QPCMV: ${pcmOn ? 1 : 0},0`]);
    if (cmd.kind !== 'set') return host.error();
    const [enable, portText = '0'] = cmd.args;
    if (enable === '0') return { final: 'OK', after: () => setPcm(false) };
    if (enable !== '1' || !['0', '1', '2'].includes(portText)) return host.cme(CME_BAD_PARAMETER);
    // Only the USB NMEA port (0) carries PCM in the emulator; UART (1) and UAC (2) are not emulated.
    if (portText !== '0') return host.cme(CME_NOT_SUPPORTED);
    return { final: 'OK', after: () => setPcm(true) };
  };

  const setPcm = (on: boolean): void => {
    pcmOn = on;
    downlink = null;
    if (on) startTicking();
  };

  /** Sends the downlink that is due, every 20 ms, while QPCMV is on. */
  const tick = (): void => {
    ticking = false;
    if (!pcmOn || !port || port.destroyed) return;
    if (!connected()) {
      downlink = null;
      return;
    }
    const now = Date.now();
    downlink ??= { since: now, sent: 0 };
    const due = Math.floor(((now - downlink.since) * 8000) / 1000) + 160 - downlink.sent;
    if (due > 0) {
      const samples = new Int16Array(due);
      if (says) {
        const part = says.pcm.subarray(says.at, says.at + due);
        samples.set(part);
        says.at += part.length;
      } else {
        for (let i = 0; i < due; i++) samples[i] = rxPeriod[(downlinkTotal + i) % rxPeriod.length];
      }
      downlink.sent += due;
      downlinkTotal += due;
      port.push(int16ToPcm16le(samples));
    }
    startTicking();
  };

  const startTicking = (): void => {
    if (ticking || !pcmOn || !port) return;
    ticking = true;
    host.schedule(PCM_TICK_MS, tick);
  };

  const onUplink = (bytes: Buffer): void => {
    if (!pcmOn || uplinkSize + bytes.length > MAX_UPLINK_BYTES) return;
    uplinkBytes.push(Buffer.from(bytes));
    uplinkSize += bytes.length;
  };

  const closePort = (): void => {
    const p = port;
    port = null;
    if (p && !p.destroyed) p.destroy();
  };

  return {
    name: 'audio',
    commands: traits
      ? { '+QAUDRD': qaudrd, '+QFLST': qflst, '+QFDWL': qfdwl, '+QFDEL': qfdel, '+QPCMV': qpcmv }
      : {},
    get files() {
      return files;
    },
    get recording() {
      return recording;
    },
    get pcmEnabled() {
      return pcmOn;
    },
    get downlinkSamples() {
      return downlinkTotal;
    },
    putFile(name, content) {
      files.set(name, Buffer.from(content));
    },
    corruptNextDownload() {
      corruptNext = true;
    },
    failRecording(code) {
      if (!recording) throw new Error('the emulated module is not recording');
      recording = null;
      host.urc(`+QAUDRIND: 0,${code}`);
    },
    openPcmPort() {
      closePort();
      const p = new EmulatedPcmPort(onUplink);
      port = p;
      p.once('close', () => {
        if (port === p) port = null;
      });
      startTicking();
      return p;
    },
    farEndSays(pcm) {
      says = pcm ? { pcm: Int16Array.from(pcm), at: 0 } : null;
    },
    uplink() {
      const all = Buffer.concat(uplinkBytes, uplinkSize);
      return pcm16leToInt16(all.subarray(0, all.length - (all.length % 2)));
    },
    reset() {
      // A restart forgets QPCMV and stops a recording (nothing is kept); the files stay (flash).
      recording = null;
      setPcm(false);
      uplinkBytes = [];
      uplinkSize = 0;
    },
    close() {
      closePort();
    },
  };
};
