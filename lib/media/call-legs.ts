import type { AudioDirection } from './audio-chunker';
import { interleave, mixMono } from './pcm-convert';

/**
 * How a recording lays out the two legs of a call: `rx` (what we receive: the remote party), `tx`
 * (what we send), `both` mixed into one channel, or `both` with 2 channels: one leg per channel,
 * left rx, right tx (interleaved).
 */
export interface LegLayout {
  direction: AudioDirection;
  channels: 1 | 2;
}

/**
 * The samples a recording keeps of one block of call audio, `rx` and `tx` being the same length and
 * the same moment: the received leg, the sent leg, both mixed (saturating), or (2 channels) both
 * interleaved left rx, right tx. Used by both backends (the AT PCM stream, the SIP recorder).
 * `rx` / `tx` alone are returned as they are (not copied). A mix or an interleaving is written into
 * `out` when given (its length: the frame's), else into a new array.
 */
export function legFrame(layout: LegLayout, rx: Int16Array, tx: Int16Array, out?: Int16Array): Int16Array {
  if (layout.channels === 2) {
    if (layout.direction !== 'both') throw new TypeError('two channels (one leg each) need direction "both"');
    return interleave(rx, tx, out);
  }
  return pick(layout.direction, rx, tx, out);
}

/** A mono stream's samples for `direction`: the downlink (rx), the uplink (tx), or both mixed (clipped, into `out` when given). */
export function pick(direction: AudioDirection, rx: Int16Array, tx: Int16Array, out?: Int16Array): Int16Array {
  if (direction === 'rx') return rx;
  if (direction === 'tx') return tx;
  return mixMono(rx, tx, out);
}
