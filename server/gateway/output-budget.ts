import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

export interface OutputBudgetOptions {
  /** Above this many unread bytes the socket's requests are no longer read (DMCI_HIGH_WATER_BYTES). */
  highWaterBytes: number;
  /** At or above this many the socket is closed as a slow consumer (DMCI_CLOSE_WATER_BYTES). */
  closeWaterBytes: number;
}

/**
 * One socket's output budget (DESIGN §7, issue 7): answers and pushes count
 * alike, as the bytes queued for the client and not yet taken by the kernel
 * (ws's bufferedAmount). Past the high-water mark the server stops reading
 * the socket — its requests wait in the client's TCP window instead of
 * becoming answers in server memory — until the queue drains; a frame that
 * would go onto a queue at or past the close mark is not sent and the socket
 * is closed (4009). So a client that sends requests and never reads costs at
 * most the close mark plus one frame, however long it keeps going.
 */
export class OutputBudget {
  private paused = false;
  /** Frames ws had already read from the socket when it paused: replayed in order on drain. */
  private deferred: Array<{ data: Buffer; isBinary: boolean }> = [];

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    private readonly options: OutputBudgetOptions,
    private readonly replay: (data: Buffer, isBinary: boolean) => void,
  ) {}

  get unreadBytes(): number {
    return this.ws.bufferedAmount;
  }

  /** May one more frame be queued? False: the socket is past the close mark and must be closed. */
  admits(): boolean {
    return this.ws.bufferedAmount < this.options.closeWaterBytes;
  }

  /** After queueing a frame: stops reading the socket once the queue passes the high-water mark. True when it just did. */
  afterSend(): boolean {
    if (this.paused || this.ws.bufferedAmount < this.options.highWaterBytes) return false;
    // 'drain' comes only after a write the socket refused; without one there is nothing to wait for.
    if (!(this.socket as Duplex & { writableNeedDrain?: boolean }).writableNeedDrain) return false;
    this.paused = true;
    this.ws.pause();
    this.socket.once('drain', () => this.drained());
    return true;
  }

  /**
   * True when the frame was kept for later: ws may hand over frames it had
   * already read (at most one socket read, ~64 KiB) after the pause.
   */
  defer(data: Buffer, isBinary: boolean): boolean {
    if (!this.paused) return false;
    this.deferred.push({ data, isBinary });
    return true;
  }

  private drained(): void {
    this.paused = false;
    while (this.deferred.length > 0 && !this.paused) {
      const next = this.deferred.shift()!;
      this.replay(next.data, next.isBinary);
    }
    if (!this.paused) this.ws.resume();
  }
}
