/**
 * What a start-up has opened so far (pools, listeners, timers), closed in
 * reverse order when a later step fails — a half-started process must exit,
 * not linger holding a database connection or a port — and by a normal stop
 * after the drain: one list, so nothing opened is forgotten at shutdown.
 */
export class OpenedResources {
  private readonly closers: Array<() => unknown> = [];

  add(close: () => unknown): void {
    this.closers.push(close);
  }

  /** Closes everything, newest first; one closer failing does not stop the others (a failing start-up reports its first error, not these). */
  async closeAll(onError: (error: unknown) => void = () => {}): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) {
      try {
        await close();
      } catch (error) {
        onError(error);
      }
    }
  }
}
