import { LineConfig, VoiceLine } from '../../lib/line/voice-line';
import type { memoryLog } from './at-harness';

const LOOPBACK = '127.0.0.1';

/**
 * A SIP line on 127.0.0.1 in trunk mode, not started: `peer` is its server (a port on 127.0.0.1, or
 * `host:port`), `rtpBase` the first of its 16 RTP ports. Two of these with each other's port as
 * server call each other with no PBX (trunk mode trusts the server's address: any 127.0.0.1 source).
 * Call waiting is on (`extra` may set `callWaiting: 'auto'` for a trunk's independent calls).
 */
export function sipLine(
  id: string,
  username: string,
  port: number,
  peer: number | string,
  rtpBase: number,
  log: ReturnType<typeof memoryLog>,
  extra: Partial<LineConfig> = {},
): VoiceLine {
  return new VoiceLine(
    {
      id,
      backend: 'sip',
      server: typeof peer === 'number' ? `${LOOPBACK}:${peer}` : peer,
      transport: 'udp',
      username,
      register: false,
      localPort: port,
      localAddress: LOOPBACK,
      rtpPortMin: rtpBase,
      rtpPortMax: rtpBase + 15,
      // Call waiting as a phone has it (trunk mode alone would have it off): the tests of waiting calls use these lines.
      callWaiting: 'on',
      ...extra,
    },
    { log },
  );
}
