/**
 * The media library both backends use: G.711, RTP packets, RFC 4733 telephone events, the reorder
 * buffer, WAV writing and reading, in-band DTMF detection, tones, the shared media clock and the
 * chunking of audio into stream messages. See docs/media.md.
 */
export * from './audio-chunker';
export * from './dtmf-receiver';
export * from './dtmf-sender';
export * from './g711';
export * from './goertzel-dtmf';
export * from './jitter-buffer';
export * from './media-clock';
export * from './pcm-convert';
export * from './rtp-packet';
export * from './telephone-event';
export * from './tone-generator';
export * from './wav-format-error';
export * from './wav-header';
export * from './wav-reader';
export * from './wav-writer';
export * from './audio-outcome';
export * from './call-legs';
export * from './rx-playout';
export * from './dtmf-merge';
export * from './pcm-source';
export * from './wav-file-source';
export * from './interarrival-jitter';
export * from './call-recorder';
