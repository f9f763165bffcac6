import type { BusyType, EventStatus } from './types.ts';

/**
 * Free/busy type of an event (samples/README.md): cancelled or transparent
 * events are free; else Outlook's X-MICROSOFT-CDO-BUSYSTATUS decides when
 * present; else STATUS:TENTATIVE is tentative and everything else busy.
 */
const OUTLOOK: Record<string, BusyType> = {
  FREE: 'FREE',
  TENTATIVE: 'BUSY-TENTATIVE',
  BUSY: 'BUSY',
  OOF: 'BUSY-UNAVAILABLE',
  // "Working elsewhere" does not make the person unavailable for meetings.
  WORKINGELSEWHERE: 'FREE',
};

export function busyTypeOf(status: EventStatus, transparent: boolean, outlookBusyStatus: string | null): BusyType {
  if (status === 'CANCELLED' || transparent) return 'FREE';
  const outlook = outlookBusyStatus ? OUTLOOK[outlookBusyStatus.trim().toUpperCase()] : undefined;
  if (outlook) return outlook;
  return status === 'TENTATIVE' ? 'BUSY-TENTATIVE' : 'BUSY';
}
