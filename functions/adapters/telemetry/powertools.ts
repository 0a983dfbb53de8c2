import { LogFormatter, LogItem, Logger } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions, LogItemExtraInput, LogItemMessage } from '@aws-lambda-powertools/logger/types';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { Log, MetricDimensions, MetricsSink } from '../../core/ports/telemetry.ts';

/**
 * Powertools' standard keys, with `sampling_rate` only when debug sampling is on (POWERTOOLS_LOGGER_SAMPLE_RATE):
 * the default formatter writes `"sampling_rate":0` on every line.
 */
class TokengateLogFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const context = attributes.lambdaContext;
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        timestamp: this.formatTimestamp(attributes.timestamp),
        service: attributes.serviceName,
        cold_start: context?.coldStart,
        function_arn: context?.invokedFunctionArn,
        function_memory_size: context?.memoryLimitInMB,
        function_name: context?.functionName,
        function_request_id: context?.awsRequestId,
        ...(attributes.sampleRateValue ? { sampling_rate: attributes.sampleRateValue } : {}),
        xray_trace_id: attributes.xRayTraceId,
      },
    }).addAttributes(additional);
  }
}

// The Powertools loggers and metrics of this container, for `beginInvocation`. In Lambda the composition
// root builds one of each per container; tests that build many handlers never call `beginInvocation`.
const loggers = new Set<WeakRef<Logger>>();
const metricsInstances = new Set<WeakRef<Metrics>>();

function* live<T extends object>(references: Set<WeakRef<T>>): Generator<T> {
  for (const reference of references) {
    const value = reference.deref();
    if (value) yield value;
    else references.delete(reference);
  }
}

/**
 * Called by a Lambda entry point at the start of every invocation (what Powertools' middy-free
 * `injectLambdaContext` does): every log line then carries the request id, the function and the cold
 * start flag, and `correlation_id` (the API Gateway request id) when given; the first invocation of the
 * container publishes Powertools' `ColdStart` metric.
 */
export function beginInvocation(context: Context | undefined, correlationId?: string): void {
  if (!context) return;
  for (const logger of live(loggers)) {
    logger.addContext(context);
    logger.resetKeys();
    if (correlationId) logger.setCorrelationId(correlationId);
  }
  for (const metrics of live(metricsInstances)) metrics.captureColdStartMetric(context.functionName);
}

/**
 * How log lines reach the process's output. `per-line` (Lambda): each line is written when it is logged,
 * as Powertools does, so every line of an invocation is complete before the handler returns (a frozen or
 * reaped container loses none). `per-turn` (the local server): the lines of one event-loop turn are
 * written together at the end of it (one write per stream and turn, and at exit), which under load is a
 * write for many requests instead of one per request.
 */
export type LogLines = 'per-line' | 'per-turn';

/** Powertools' console writes levels above INFO (WARN, ERROR, CRITICAL) to stderr, the rest to stdout. */
const STDERR_FROM_LEVEL = 16;

/** Lines waiting for the end of the event-loop turn, per stream; written at the latest when the process exits. */
class TurnBatch {
  private static readonly pending = new Set<TurnBatch>();
  private static exitHooked = false;
  private stdout: string[] = [];
  private stderr: string[] = [];
  private scheduled = false;

  add(toStderr: boolean, line: string): void {
    (toStderr ? this.stderr : this.stdout).push(line);
    if (this.scheduled) return;
    this.scheduled = true;
    TurnBatch.pending.add(this);
    if (!TurnBatch.exitHooked) {
      TurnBatch.exitHooked = true;
      process.once('exit', () => {
        for (const batch of TurnBatch.pending) batch.flush();
      });
    }
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    TurnBatch.pending.delete(this);
    // stdout and stderr are synchronous for files and pipes on Linux: the lines are out when write returns.
    if (this.stdout.length > 0) process.stdout.write(`${this.stdout.join('\n')}\n`);
    if (this.stderr.length > 0) process.stderr.write(`${this.stderr.join('\n')}\n`);
    this.stdout = [];
    this.stderr = [];
  }
}

/**
 * Powertools' Logger, printing the very line Powertools prints (same attributes, same JSON, same stream),
 * either at once (`per-line`, as Powertools' console does) or batched per turn.
 */
class TokengateLogger extends Logger {
  private batch?: TurnBatch | 'none';
  private formatter?: TokengateLogFormatter;
  private serviceLabel = '';
  /** No Lambda context, correlation id or extra keys were ever added: a line is its message and attributes. */
  private plain = true;

  constructor(options: ConstructorOptions & { logFormatter: TokengateLogFormatter; serviceName: string }, lines: LogLines) {
    super(options);
    this.batch = lines === 'per-turn' ? new TurnBatch() : 'none';
    this.formatter = options.logFormatter;
    this.serviceLabel = options.serviceName;
  }

  protected override processLogItem(logLevel: number, input: LogItemMessage, extraInput: LogItemExtraInput): void {
    const line = this.plainLine(logLevel, input, extraInput);
    if (line === undefined) return super.processLogItem(logLevel, input, extraInput);
    if (line !== '') (this.batch as TurnBatch).add(logLevel >= STDERR_FROM_LEVEL, line);
  }

  /**
   * The local server's line for a message with flat attributes, built directly: what Powertools' log item
   * comes to when there is no Lambda context, trace id, correlation id, sampling or extra key (its level,
   * message, timestamp and service, then the attributes, without empty ones), at a fraction of the cost.
   * '' when the level is off; undefined when anything else applies, and Powertools builds the line.
   */
  private plainLine(logLevel: number, input: LogItemMessage, extraInput: LogItemExtraInput): string | undefined {
    if (!(this.batch instanceof TurnBatch) || !this.plain || !this.formatter || this.serviceLabel === '') return undefined;
    if (typeof input !== 'string' || input === '' || extraInput.length > 1) return undefined;
    const env = process.env;
    if (env._X_AMZN_TRACE_ID !== undefined || env.POWERTOOLS_LOGGER_SAMPLE_RATE !== undefined || isTruthy(env.POWERTOOLS_DEV)) return undefined;
    const level = LEVEL_NAMES[logLevel];
    if (level === undefined) return undefined;
    const attributes = extraInput[0];
    if (attributes !== undefined && (typeof attributes !== 'object' || attributes === null || attributes instanceof Error || Array.isArray(attributes))) {
      return undefined;
    }
    if (logLevel < this.level) return '';
    const line: Record<string, unknown> = { level, message: input, timestamp: this.formatter.formatTimestamp(new Date()), service: this.serviceLabel };
    for (const key in attributes) {
      const value = (attributes as Record<string, unknown>)[key];
      if (value === undefined || value === null || value === '') continue;
      if (RESERVED_KEYS.has(key) || !isFlatValue(value)) return undefined;
      line[key] = value;
    }
    return JSON.stringify(line);
  }

  override addContext(context: Parameters<Logger['addContext']>[0]): void {
    this.plain = false;
    super.addContext(context);
  }

  override appendKeys(attributes: Parameters<Logger['appendKeys']>[0]): void {
    this.plain = false;
    super.appendKeys(attributes);
  }

  override appendPersistentKeys(attributes: Parameters<Logger['appendPersistentKeys']>[0]): void {
    this.plain = false;
    super.appendPersistentKeys(attributes);
  }

  override setCorrelationId(value: unknown, correlationIdPath?: string): void {
    this.plain = false;
    super.setCorrelationId(value, correlationIdPath);
  }

  protected override printLog(logLevel: number, log: LogItem): void {
    // POWERTOOLS_DEV pretty-prints (indented, through the global console): left to Powertools.
    if (!this.batch || isTruthy(process.env.POWERTOOLS_DEV)) return super.printLog(logLevel, log);
    log.prepareForPrint();
    const attributes = log.getAttributes();
    // Powertools' replacer (errors, bigints, cycles) is the identity on primitives and arrays of them, which
    // is all a decision line holds; calling it for every key cost more than the rest of the line.
    const line = isFlat(attributes) ? JSON.stringify(attributes) : JSON.stringify(attributes, this.getJsonReplacer());
    const toStderr = logLevel >= STDERR_FROM_LEVEL;
    if (this.batch !== 'none') this.batch.add(toStderr, line);
    // What Powertools' console does: the line and a newline, synchronously for files and pipes on Linux.
    else (toStderr ? process.stderr : process.stdout).write(`${line}\n`);
  }
}

/** Powertools' level names by threshold, and the keys it reserves (an attribute of that name is dropped with a warning). */
const LEVEL_NAMES: Record<number, string> = { 6: 'TRACE', 8: 'DEBUG', 12: 'INFO', 16: 'WARN', 20: 'ERROR', 24: 'CRITICAL' };
const RESERVED_KEYS = new Set(['level', 'message', 'sampling_rate', 'service', 'timestamp']);

const isPrimitive = (value: unknown) => value === null || (typeof value !== 'object' && typeof value !== 'bigint' && typeof value !== 'function');

/** A primitive (not a bigint) or an array of such: what JSON.stringify writes as Powertools' replacer would. */
const isFlatValue = (value: unknown) => isPrimitive(value) || (Array.isArray(value) && value.every(isPrimitive));

/** Whether every attribute is a flat value. */
function isFlat(attributes: Record<string, unknown>): boolean {
  for (const key in attributes) if (!isFlatValue(attributes[key])) return false;
  return true;
}

const isTruthy = (value: string | undefined) => value !== undefined && ['1', 'true', 'on', 'yes', 'y'].includes(value.toLowerCase());

/** A Powertools Logger behind the `Log` port. */
export function powertoolsLog(serviceName: string, logLevel?: string, lines: LogLines = 'per-line'): Log {
  const options = {
    serviceName,
    logFormatter: new TokengateLogFormatter(),
    ...(logLevel ? { logLevel: logLevel.toUpperCase() as 'INFO' } : {}),
  };
  const logger = new TokengateLogger(options, lines);
  loggers.add(new WeakRef(logger));
  return {
    debug: (message, attributes) => logger.debug(message, attributes ?? {}),
    info: (message, attributes) => logger.info(message, attributes ?? {}),
    warn: (message, attributes) => logger.warn(message, attributes ?? {}),
    error: (message, attributes) => logger.error(message, attributes ?? {}),
  };
}

/** Latency samples kept per metric and dimension set between publishes: Powertools publishes early (and drops
 * the dimension set) when a metric reaches 100 values, so stay below that. */
const MAX_SAMPLES = 99;

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

interface Aggregate {
  dimensions: MetricDimensions;
  counts: Map<string, number>;
  samples: Map<string, { unit: Unit; values: number[]; seen: number }>;
}

export interface PowertoolsMetricsOptions {
  namespace?: string;
  serviceName?: string;
  /**
   * Publish at most once per this interval; `flush()` calls in between only keep aggregating. 0 publishes
   * at every flush (the sync function: one run, one publish).
   */
  flushIntervalMs?: number;
  /** Monotonic milliseconds; injected by tests. */
  now?: () => number;
  /** Random numbers in [0, 1) for latency sampling; injected by tests. */
  random?: () => number;
}

/**
 * Powertools Metrics behind the `MetricsSink` port, aggregated: counts are summed and durations sampled
 * (at most 99 per metric and dimension set) per dimension set, then published as one EMF line per
 * dimension set at most once per interval. Publishing a line per data point cost the authenticate path
 * more than the review itself; the price is that a container reaped before its next publish loses at most
 * one interval of data points.
 */
export function powertoolsMetrics(options: PowertoolsMetricsOptions = {}): MetricsSink {
  const metrics = new Metrics({
    namespace: options.namespace ?? 'Tokengate',
    serviceName: options.serviceName ?? 'tokengate',
  });
  metricsInstances.add(new WeakRef(metrics));
  const now = options.now ?? (() => performance.now());
  const random = options.random ?? Math.random;
  const intervalMs = options.flushIntervalMs ?? 0;
  let pending = new Map<string, Aggregate>();
  let lastPublish = now();

  const aggregateFor = (dimensions: MetricDimensions = {}): Aggregate => {
    const key = Object.entries(dimensions)
      .map(([name, value]) => `${name}=${value}`)
      .join('\u0000');
    let aggregate = pending.get(key);
    if (!aggregate) {
      aggregate = { dimensions, counts: new Map(), samples: new Map() };
      pending.set(key, aggregate);
    }
    return aggregate;
  };

  const sample = (name: string, unit: Unit, value: number, dimensions?: MetricDimensions) => {
    const samples = aggregateFor(dimensions).samples;
    let entry = samples.get(name);
    if (!entry) {
      entry = { unit, values: [], seen: 0 };
      samples.set(name, entry);
    }
    entry.seen += 1;
    if (entry.values.length < MAX_SAMPLES) entry.values.push(value);
    else {
      // Reservoir sampling keeps every value equally likely to be reported, so percentiles stay unbiased.
      const slot = Math.floor(random() * entry.seen);
      if (slot < MAX_SAMPLES) entry.values[slot] = value;
    }
  };

  const publish = () => {
    for (const aggregate of pending.values()) {
      if (Object.keys(aggregate.dimensions).length > 0) metrics.addDimensions(aggregate.dimensions);
      for (const [name, value] of aggregate.counts) metrics.addMetric(name, MetricUnit.Count, value);
      for (const [name, entry] of aggregate.samples) {
        for (const value of entry.values) metrics.addMetric(name, entry.unit, value);
      }
      metrics.publishStoredMetrics();
    }
    pending = new Map();
    lastPublish = now();
  };

  return {
    count: (name, value, dimensions) => {
      const counts = aggregateFor(dimensions).counts;
      counts.set(name, (counts.get(name) ?? 0) + value);
    },
    milliseconds: (name, value, dimensions) => sample(name, MetricUnit.Milliseconds, value, dimensions),
    seconds: (name, value, dimensions) => sample(name, MetricUnit.Seconds, value, dimensions),
    flush: () => {
      if (pending.size > 0 && now() - lastPublish >= intervalMs) publish();
    },
  };
}
