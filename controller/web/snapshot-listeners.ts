/** The listeners of a dashboard source: each new snapshot goes to all; one that throws is skipped. */
import type { StackSnapshot } from './snapshot.js';

export class SnapshotListeners {
  private readonly listeners = new Set<(snapshot: StackSnapshot) => void>();

  add(listener: (snapshot: StackSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(snapshot: StackSnapshot): void {
    for (const listener of this.listeners) {
      try {
        listener(snapshot);
      } catch {
        // A viewer's failure must not stop the source (or the controller's loop) that feeds it.
      }
    }
  }
}
