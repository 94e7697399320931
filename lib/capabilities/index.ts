/**
 * Capabilities: what a line can do beyond placing, answering and ending calls. Each is an interface
 * written as a contract (one file each); a backend offers the ones it can (`backend.dtmf`, ...).
 * A capability a backend lacks, or a part of one its module lacks, is refused with a
 * `NotSupportedError` that names the line's module: never ignored silently.
 */
export * from './dtmf';
export * from './control';
export * from './forwarding';
export * from './audio';
export * from './analysis';
export * from './conference';

export type CapabilityName = 'dtmf' | 'control' | 'forwarding' | 'audio' | 'analysis' | 'conference';
