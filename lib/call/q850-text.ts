/**
 * ITU-T Q.850 cause texts: what the emulated module reports in `+CEER`, and the `text=` of the SIP
 * `Reason: Q.850;cause=N` header a SIP line sends.
 */
const Q850_TEXT: Readonly<Record<number, string>> = {
  0: 'No cause information available',
  1: 'Unassigned (unallocated) number',
  3: 'No route to destination',
  16: 'Normal call clearing',
  17: 'User busy',
  18: 'No user responding',
  19: 'User alerting, no answer',
  20: 'Subscriber absent',
  21: 'Call rejected',
  22: 'Number changed',
  27: 'Destination out of order',
  28: 'Invalid number format',
  31: 'Normal, unspecified',
  34: 'No circuit/channel available',
  38: 'Network out of order',
  41: 'Temporary failure',
  42: 'Switching equipment congestion',
  47: 'Resource unavailable, unspecified',
  53: 'Outgoing calls barred within CUG',
  54: 'Incoming calls barred',
  55: 'Incoming calls barred within CUG',
  57: 'Bearer capability not authorized',
  63: 'Service or option not available, unspecified',
  65: 'Bearer service not implemented',
  88: 'Incompatible destination',
  102: 'Recovery on timer expiry',
  127: 'Interworking, unspecified',
};

export function q850Text(cause: number): string {
  return Q850_TEXT[cause] ?? `Cause ${cause}`;
}
