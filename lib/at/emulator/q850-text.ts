/** ITU-T Q.850 cause texts, as the emulated module reports them in `+CEER`. */
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
