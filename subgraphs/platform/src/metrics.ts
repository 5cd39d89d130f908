/**
 * A service's metrics on prom-client, rendered in the Prometheus text format on `/metrics`. Operators scrape it;
 * the tests read it to count subgraph fetches and SQL statements.
 *
 * Each `Metrics` has its own prom-client `Registry`, never the global one: tests run the gateway and several
 * subgraphs in one process, and each must report only its own figures.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Labels of one sample; the names must be among those the metric declared. */
export type MetricLabels = Record<string, string>;

/** One sample of a labelled gauge, read at scrape time. */
export interface LabelledValue {
  readonly labels: MetricLabels;
  readonly value: number;
}

export interface MetricsOptions {
  /**
   * Node's default metrics (`process_cpu_seconds_total`, `process_resident_memory_bytes`, `nodejs_heap_size_used_bytes`,
   * `nodejs_eventloop_lag_seconds`, `nodejs_gc_duration_seconds`, …), under their standard names, without prefix.
   * @default false: a service turns them on once; a component's own `Metrics` (in a unit test) needs none
   */
  readonly defaultMetrics?: boolean;
}

/**
 * Request latency buckets for a gateway and its subgraphs, in seconds: a cached plan with one fetch answers in a
 * millisecond or two, a saga step waiting on a vendor in seconds; the fetch deadline caps the tail.
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  readonly registry = new Registry();
  private readonly counters = new Map<string, { help: string; counter: Counter | undefined }>();
  private readonly gauges = new Map<string, { read: () => number }>();
  private readonly labelledGauges = new Map<string, { read: () => Iterable<LabelledValue> | Promise<Iterable<LabelledValue>> }>();
  private readonly histograms = new Map<string, Histogram>();

  constructor(options: MetricsOptions = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** What `/metrics` answers with (the Prometheus text format, version 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Declares a counter; returns a function that increments it for a set of labels. Declared twice (two parts of a
   * service counting the same thing): one counter. Without `labelNames` the first increment's labels are taken as
   * the counter's, so call sites written before prom-client keep working; declaring them shows the series at 0.
   */
  counter(name: string, help: string, labelNames?: readonly string[]): (labels?: MetricLabels, by?: number) => void {
    let entry = this.counters.get(name);
    if (!entry) {
      entry = { help, counter: labelNames ? this.createCounter(name, help, labelNames) : undefined };
      this.counters.set(name, entry);
    }
    const declared = entry;
    return (labels = {}, by = 1) => {
      declared.counter ??= this.createCounter(name, declared.help, Object.keys(labels));
      declared.counter.inc(labels, by);
    };
  }

  /**
   * Declares a counter whose total is kept elsewhere (a plain number on a hot path) and read at scrape time.
   * `read` must only ever grow for each set of labels, as a counter does.
   */
  counterFrom(name: string, help: string, labelNames: readonly string[], read: () => Iterable<LabelledValue>): void {
    if (this.registry.getSingleMetric(name)) this.registry.removeSingleMetric(name);
    new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { labels, value } of read()) this.inc(labels, value);
      },
    });
  }

  /** Declares a gauge read at scrape time. Declared again, the latest `read` answers. */
  gauge(name: string, help: string, read: () => number): void {
    const existing = this.gauges.get(name);
    if (existing) {
      existing.read = read;
      return;
    }
    const entry = { read };
    this.gauges.set(name, entry);
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(entry.read());
      },
    });
  }

  /**
   * Declares a gauge with labels, every sample read at scrape time (possibly from a store, asynchronously). Label
   * sets that `read` no longer returns disappear from the scrape. Declared again, the latest `read` answers.
   */
  labelledGauge(name: string, help: string, labelNames: readonly string[], read: () => Iterable<LabelledValue> | Promise<Iterable<LabelledValue>>): void {
    const existing = this.labelledGauges.get(name);
    if (existing) {
      existing.read = read;
      return;
    }
    const entry = { read };
    this.labelledGauges.set(name, entry);
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        const samples = await entry.read();
        this.reset();
        for (const { labels, value } of samples) this.set(labels, value);
      },
    });
  }

  /**
   * Declares a histogram; returns a function that records one observation (in seconds, for durations) for a set of
   * labels. Label values must be bounded: each distinct set is a series of `buckets.length + 2` samples.
   */
  histogram(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[] = LATENCY_BUCKETS_SECONDS,
  ): (labels: MetricLabels, value: number) => void {
    let histogram = this.histograms.get(name);
    if (!histogram) {
      histogram = new Histogram({ name, help, labelNames, buckets: [...buckets], registers: [this.registry] });
      this.histograms.set(name, histogram);
    }
    const declared = histogram;
    return (labels, value) => declared.observe(labels, value);
  }

  /** The exposition: every metric, its gauges read now. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  private createCounter(name: string, help: string, labelNames: readonly string[]): Counter {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}

/** Parses a Prometheus text exposition into `name{labels}` → value (for tests and health figures). */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}
