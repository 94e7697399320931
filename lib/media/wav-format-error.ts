import { VoiceError } from '../errors';

/**
 * A WAV file this package cannot play: not a WAV at all, damaged, or in a format other than 16-bit
 * PCM or G.711 at 8 or 16 kHz. The message says which, for the person who chose the file.
 */
export class WavFormatError extends VoiceError {
  constructor(message: string) {
    super(message, 'EWAVFORMAT');
  }
}
