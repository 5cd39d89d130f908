/**
 * An async-iterable queue with a fixed capacity that drops its oldest item when full. It sits between a push
 * source (an event bus, an upstream subscription) and a pull consumer (a WebSocket client): a slow consumer
 * can then cost at most `capacity` items of memory, never an unbounded backlog.
 */
export interface BoundedQueueOptions<T> {
  readonly capacity: number;
  /** Called with each item dropped because the queue was full. */
  readonly onDrop?: (item: T) => void;
  /** Called once when the consumer stops iterating (return/throw) or the queue ends: release the source here. */
  readonly onClose?: () => void;
}

export class BoundedQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  private waitingReject: ((error: unknown) => void) | undefined;
  private finished = false;
  private failure: { error: unknown } | undefined;
  private closed = false;

  constructor(private readonly options: BoundedQueueOptions<T>) {
    if (!(options.capacity >= 1)) throw new Error(`BoundedQueue capacity must be at least 1, got ${options.capacity}`);
  }

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.finished) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.waitingReject = undefined;
      resolve({ value: item, done: false });
      return;
    }
    if (this.items.length >= this.options.capacity) this.options.onDrop?.(this.items.shift()!);
    this.items.push(item);
  }

  /** No more items: the consumer gets what is queued, then the end (or `error`, if given). */
  end(error?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    if (error !== undefined) this.failure = { error };
    if (this.waiting && this.items.length === 0) {
      const [resolve, reject] = [this.waiting, this.waitingReject!];
      this.waiting = this.waitingReject = undefined;
      if (this.failure) reject(this.failure.error);
      else resolve({ value: undefined, done: true });
      this.close();
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });
    if (this.finished) {
      this.close();
      return this.failure ? Promise.reject(this.failure.error) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.waitingReject = reject;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.finished = true;
    this.items.length = 0;
    if (this.waiting) {
      this.waiting({ value: undefined, done: true });
      this.waiting = this.waitingReject = undefined;
    }
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<T>> {
    void this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.onClose?.();
  }
}
