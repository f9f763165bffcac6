import type { InboxMessage, MethodResult, PushFrame } from '../protocol/index.ts';
import { DmciRequestError, type DmciClient } from './client.ts';

/**
 * What a connector does for scheduling: keep a replica of its inbox (full
 * sync, then pushes, falling back to Inbox/changes whenever a push does not
 * start at the replica's state), and answer invitations with the `reply`
 * shortcut of CalendarEvent/set.
 */
export class InboxReplica {
  readonly messages = new Map<string, InboxMessage>();
  state: string | undefined;
  scope: string | undefined;
  private catchingUp: Promise<void> | undefined;
  private readonly listeners = new Set<(message: InboxMessage) => void>();
  private readonly onPush = (frame: PushFrame) => {
    if (frame.scope !== this.scope) return;
    const changes = frame.changes as MethodResult<'Inbox/changes'> | undefined;
    if (!frame.resync && changes && frame.oldState === this.state) {
      this.apply(changes);
      return;
    }
    void this.catchUp();
  };

  constructor(private readonly client: DmciClient) {}

  /** Syncs the whole inbox and follows it. */
  async start(): Promise<void> {
    await this.catchUp();
    this.client.on('push', this.onPush);
    await this.client.request('Push/subscribe', { scopes: [{ scope: this.scope!, state: this.state! }] });
  }

  stop(): void {
    this.client.off('push', this.onPush);
  }

  /** Calls `listener` for every message that arrives from now on. */
  onMessage(listener: (message: InboxMessage) => void): void {
    this.listeners.add(listener);
  }

  /** Reads Inbox/changes until the replica is current (one reader at a time). */
  async catchUp(): Promise<void> {
    this.catchingUp ??= this.readChanges().finally(() => {
      this.catchingUp = undefined;
    });
    return this.catchingUp;
  }

  private async readChanges(): Promise<void> {
    for (;;) {
      try {
        const page = await this.client.request('Inbox/changes', this.state === undefined ? {} : { sinceState: this.state });
        this.apply(page);
        if (!page.hasMoreChanges) return;
      } catch (error) {
        if (!(error instanceof DmciRequestError)) throw error;
        if (error.code === 'CANNOT_CALCULATE_CHANGES') {
          // Too far behind: sync everything again.
          this.messages.clear();
          this.state = undefined;
        } else if (error.code === 'UNAVAILABLE') {
          // The server is saturated (no database connection in time): wait retryAfterMs and ask again, as
          // docs/protocol.md says — a push-triggered catch-up that gave up would leave the replica behind.
          await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs ?? 1000));
        } else {
          throw error;
        }
      }
    }
  }

  private apply(page: MethodResult<'Inbox/changes'>): void {
    this.scope = page.scope;
    for (const message of [...page.created, ...page.updated]) {
      const fresh = !this.messages.has(message.id);
      this.messages.set(message.id, message);
      if (fresh) for (const listener of this.listeners) listener(message);
    }
    for (const id of page.destroyed) this.messages.delete(id);
    this.state = page.newState;
  }
}

export type Partstat = 'ACCEPTED' | 'DECLINED' | 'TENTATIVE';

/**
 * Answers an invitation held in `calendarId` (the attendee's copy `eventId`),
 * for the series or one occurrence. `sequence` names the organizer version
 * answered (STALE_ANSWER if the organizer changed the event significantly
 * since). Resolves with the copy's new version; rejects with the refusal.
 */
export async function answerInvitation(client: DmciClient, calendarId: string, eventId: string, partstat: Partstat, options: { recurrenceId?: string; sequence?: number } = {}): Promise<number> {
  const result = await client.request('CalendarEvent/set', { calendarId, reply: { [eventId]: { partstat, ...options } } });
  const refused = result.notReplied?.[eventId];
  if (refused) throw new DmciRequestError(refused);
  return result.replied![eventId]!.version;
}
