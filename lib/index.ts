/**
 * The package's public API without Node-RED (`require('@voice-nodes/node-red-voice')`): the same core
 * the nodes run, for a script, a test or another framework.
 *
 * ```js
 * const { VoiceLine } = require('@voice-nodes/node-red-voice');
 * const line = new VoiceLine({ id: 'demo', backend: 'at', serialPort: 'sim:ec600n' });
 * line.on('event', (e) => console.log(e.topic, e.call?.state));
 * line.acquire('my-script');            // the first user connects the line
 * await new Promise((up) => line.on('event', (e) => e.topic === 'line-up' && up()));
 * const { answered, end } = await line.dialAndWait('5551234');
 * await line.release('my-script');      // the last one disconnects it
 * ```
 *
 * Stable: what is exported here. Everything else under `lib/` is internal and may change in any
 * release. docs/architecture.md describes the layers; docs/nodes.md the message contract;
 * docs/extending.md how to add a modem profile, a node or a feature.
 */

// The line: one modem or one SIP account, its calls and its policies.
export { VoiceLine, outcome, MAX_RING_TIMEOUT_S } from './line/voice-line';
export type {
  LineConfig,
  LineCredentials,
  DialRequest,
  DialResult,
  VoiceEvent,
  VoiceLineOptions,
  BackendFactory,
} from './line/voice-line';
export { Gather, GATHER_DEFAULTS, checkGatherOptions } from './line/gather';
export type { GatherOptions, GatherResult, GatherEndReason } from './line/gather';
export { LineAnalysis } from './line/line-analysis';

// The call model: states, causes, snapshots.
export * from './call';

// The backend contract and its two implementations.
export type { Backend, DialOptions, HangupRequest, LineEvent, LineState, LineStatus, Logger } from './backend';
export { SILENT_LOGGER } from './backend';
export { AtBackend } from './at/modem-backend';
export type { AtBackendOptions, AtTiming } from './at/modem-backend';
export { MODEM_PROFILES, MODEM_PROFILE_NAMES, detectProfile, profileByName } from './at/modem-profile';
export type { ModemProfile, ModemIdentity, CallReport } from './at/modem-profile';
export { SipBackend } from './sip/sip-backend';
export type { SipBackendOptions } from './sip/sip-backend';

// The built-in modem emulator (`sim:` ports).
export * from './at/emulator';

// What a line can do beyond calls (DTMF, control, forwarding, audio), as contracts.
export * from './capabilities';

// Errors (each names what was wrong; `code` is stable) and the input checks the nodes use.
export * from './errors';
export { validatePhoneNumber, validateCallTarget, isSipTarget } from './validate';
