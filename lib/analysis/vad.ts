/**
 * Voice activity detection on 20 ms frames of 8 kHz PCM, for the far-end classifier (issue 13).
 *
 * `WebRtcVad` is WebRTC's VAD (libfvad: six sub-band energies, Gaussian mixture models of speech
 * and noise that adapt to the line's noise floor), from the npm package `@ozymandiasthegreat/vad`,
 * libfvad compiled to a standalone WebAssembly module (no imports, 15 kB). Only its `.wasm` is
 * used: the package's JavaScript is an async ES module, while the module itself can be compiled and
 * instantiated synchronously, once per thread (main thread or media worker), and each VAD is one
 * `fvad_new` in that instance's memory. A frame is one call into WebAssembly.
 *
 * `EnergyVad` is Asterisk app_amd's test (`ast_dsp_silence`): a frame is voice when the mean of
 * its absolute sample values reaches a fixed threshold (256 by default). It is kept as the baseline
 * the benchmark compares against (bench/far-end.ts); it calls steady background noise voice.
 */
import { readFileSync } from 'node:fs';
import { ANALYSIS_FRAME_SAMPLES } from './analyser';
import { checkInt, checkOneOf, checkOptions } from '../media/check-option';

export interface VoiceActivityDetector {
  /** Whether this frame (`ANALYSIS_FRAME_SAMPLES` samples of 8 kHz PCM) holds voice. */
  isVoice(frame: Int16Array): boolean;
  /** Forgets what it learnt of the line (noise floor): a new call. */
  reset(): void;
  /** Releases what it holds; it must not be used after. Idempotent. */
  free(): void;
}

/** WebRTC VAD aggressiveness: 0 quality … 3 very aggressive (fewer non-speech frames called speech). */
export type WebRtcVadMode = 0 | 1 | 2 | 3;

export interface WebRtcVadOptions {
  /** Aggressiveness, 0–3 (default 3: telephone lines are noisy and music must not count). */
  mode?: WebRtcVadMode;
}

interface Fvad {
  memory: WasmMemory;
  malloc(bytes: number): number;
  free(ptr: number): void;
  fvad_new(): number;
  fvad_free(handle: number): void;
  fvad_reset(handle: number): void;
  fvad_set_mode(handle: number, mode: number): number;
  fvad_set_sample_rate(handle: number, rate: number): number;
  fvad_process(handle: number, frame: number, length: number): number;
}

/** The part of the WebAssembly API used here (the compile target's lib has no WebAssembly types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
interface WasmMemory {
  buffer: ArrayBuffer;
}

interface FvadRuntime {
  fvad: Fvad;
  /** One frame's buffer in the module's memory, shared by every VAD of this thread (calls are synchronous). */
  frame: number;
}

let runtime: FvadRuntime | null = null;

/** The libfvad instance of this thread, compiled and instantiated synchronously on first use. */
function fvadRuntime(): FvadRuntime {
  if (runtime) return runtime;
  const bytes = readFileSync(require.resolve('@ozymandiasthegreat/vad/dist/libfvad.wasm'));
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const instance = new wasm.Instance(new wasm.Module(bytes), {});
  const exports = instance.exports as unknown as Fvad & { _initialize?: () => void };
  exports._initialize?.(); // a WASI reactor: runs the C library's constructors once
  const frame = exports.malloc(ANALYSIS_FRAME_SAMPLES * 2);
  if (!frame) throw new Error('WebRTC VAD: cannot allocate its frame buffer');
  runtime = { fvad: exports, frame };
  return runtime;
}

/** Frees the libfvad state of a WebRtcVad that was dropped without `free()`. */
const dropped = new FinalizationRegistry<number>((handle) => runtime?.fvad.fvad_free(handle));

export class WebRtcVad implements VoiceActivityDetector {
  private readonly rt: FvadRuntime;
  private handle: number;
  readonly mode: WebRtcVadMode;

  constructor(options?: WebRtcVadOptions) {
    const o = checkOptions('WebRtcVad', options);
    this.mode = checkOneOf('mode', o.mode ?? 3, [0, 1, 2, 3] as const);
    this.rt = fvadRuntime();
    const { fvad } = this.rt;
    this.handle = fvad.fvad_new();
    if (!this.handle) throw new Error('WebRTC VAD: out of memory');
    if (fvad.fvad_set_mode(this.handle, this.mode) < 0 || fvad.fvad_set_sample_rate(this.handle, 8000) < 0) {
      fvad.fvad_free(this.handle);
      throw new Error('WebRTC VAD: libfvad refused mode or rate');
    }
    dropped.register(this, this.handle, this);
  }

  isVoice(frame: Int16Array): boolean {
    if (!this.handle) throw new Error('WebRTC VAD: used after free()');
    const { fvad, frame: ptr } = this.rt;
    // The view is made per call: the module's memory may have grown (and its buffer changed) since.
    const view = new Int16Array(fvad.memory.buffer, ptr, ANALYSIS_FRAME_SAMPLES);
    if (frame.length === ANALYSIS_FRAME_SAMPLES) view.set(frame);
    else {
      view.fill(0);
      view.set(frame.subarray(0, ANALYSIS_FRAME_SAMPLES));
    }
    return fvad.fvad_process(this.handle, ptr, ANALYSIS_FRAME_SAMPLES) === 1;
  }

  reset(): void {
    if (!this.handle) return;
    const { fvad } = this.rt;
    fvad.fvad_reset(this.handle); // back to mode 0 and 8 kHz: the mode is set again
    fvad.fvad_set_mode(this.handle, this.mode);
    fvad.fvad_set_sample_rate(this.handle, 8000);
  }

  free(): void {
    if (!this.handle) return;
    dropped.unregister(this);
    this.rt.fvad.fvad_free(this.handle);
    this.handle = 0;
  }
}

export interface EnergyVadOptions {
  /** Mean absolute sample value from which a frame is voice (app_amd's `silence_threshold`, default 256). */
  threshold?: number;
}

/** app_amd's fixed-threshold test (see the file's comment). */
export class EnergyVad implements VoiceActivityDetector {
  readonly threshold: number;

  constructor(options?: EnergyVadOptions) {
    const o = checkOptions('EnergyVad', options);
    this.threshold = checkInt('threshold', o.threshold ?? 256, 1, 32768);
  }

  isVoice(frame: Int16Array): boolean {
    let sum = 0;
    for (let i = 0; i < frame.length; i++) sum += Math.abs(frame[i]);
    return frame.length > 0 && sum / frame.length >= this.threshold;
  }

  reset(): void {}

  free(): void {}
}
