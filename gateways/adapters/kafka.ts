import { randomUUID } from 'node:crypto';
import { Kafka, logLevel as KafkaLogLevel, Partitioners, type Consumer, type EachBatchPayload, type Producer } from 'kafkajs';
import { unpack } from 'msgpackr';
import { parseCommand, ValidationError, type BusPort, type Engine, type InputCommand, type StateChange } from '../../engine/index.ts';
import { describeError, drainUntil, type HealthReporter, type ServiceHealth } from './health.ts';

/**
 * Kafka edges of the engine, over kafkajs:
 * - `KafkaBus`: the engine's `BusPort` (keyed messages on topics).
 * - `KafkaIngest`: telemetry and commands from other systems into `Engine.submit`, at least once,
 *   with duplicates dropped by (`kafka:<topic>:<partition>`, offset) and offsets committed only
 *   after the journal entries of the batch are durable; bad messages go to a dead-letter topic.
 * - `KafkaEventPublisher`: the state-change stream out to `stratum.events`.
 */
export interface KafkaConnection {
  /** Broker list, e.g. `127.0.0.1:59092` (comma-separated in `STRATUM_KAFKA_BROKERS`). */
  readonly brokers: readonly string[];
  readonly clientId?: string;
  /** kafkajs log level (default ERROR). */
  readonly logLevel?: KafkaLogLevel;
}

export function kafkaClient(connection: KafkaConnection): Kafka {
  return new Kafka({
    clientId: connection.clientId ?? 'stratum-twin',
    brokers: [...connection.brokers],
    logLevel: connection.logLevel ?? KafkaLogLevel.ERROR,
    connectionTimeout: 3_000,
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 2_000 },
  });
}

export function brokersFromEnv(value: string): string[] {
  return value.split(',').map((b) => b.trim()).filter((b) => b !== '');
}

export const TELEMETRY_TOPIC = 'stratum.telemetry';
export const COMMANDS_TOPIC = 'stratum.commands';
export const EVENTS_TOPIC = 'stratum.events';
export const DEAD_LETTER_TOPIC = 'stratum.dead-letter';

/** Kafka as the engine's bus. Each subscription is its own consumer group reading from the end. */
export class KafkaBus implements BusPort {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly consumers = new Set<Consumer>();
  private connected: Promise<void> | undefined;

  constructor(connection: KafkaConnection, private readonly groupPrefix = 'stratum-bus') {
    this.kafka = kafkaClient(connection);
    this.producer = this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true });
  }

  async publish(topic: string, key: string, value: Uint8Array | string): Promise<void> {
    this.connected ??= this.producer.connect();
    await this.connected;
    await this.producer.send({ topic, messages: [{ key, value: typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength) }] });
  }

  /** Resolves once the subscription reads from the topic's current end: later publishes reach it. */
  async subscribe(topic: string, handler: (key: string, value: Uint8Array | string) => void | Promise<void>): Promise<() => Promise<void>> {
    const admin = this.kafka.admin();
    await admin.connect();
    let ends: Array<{ partition: number; offset: string }>;
    try {
      await admin.createTopics({ topics: [{ topic }], waitForLeaders: true }).catch(() => false);
      ends = await admin.fetchTopicOffsets(topic);
    } finally {
      await admin.disconnect();
    }
    const consumer = this.kafka.consumer({ groupId: `${this.groupPrefix}-${randomUUID()}`, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    this.consumers.add(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run({
      eachMessage: async ({ message }) => {
        await handler(message.key?.toString() ?? '', message.value === null ? new Uint8Array() : new Uint8Array(message.value));
      },
    });
    for (const end of ends) consumer.seek({ topic, partition: end.partition, offset: end.offset });
    await joined;
    return async () => {
      this.consumers.delete(consumer);
      await consumer.disconnect();
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.disconnect()));
    this.consumers.clear();
    if (this.connected !== undefined) await this.producer.disconnect();
  }
}

/** Decodes a Kafka value: JSON when it starts with `{`, `[`, a digit or whitespace, msgpack otherwise. */
export function decodeValue(value: Buffer): unknown {
  const first = value[0];
  if (first === undefined) throw new Error('empty value');
  const text = first === 0x7b || first === 0x5b || first === 0x20 || first === 0x0a || (first >= 0x30 && first <= 0x39) || first === 0x2d;
  if (text) {
    try {
      return JSON.parse(value.toString('utf8')) as unknown;
    } catch (error) {
      throw new Error(`not valid JSON: ${(error as Error).message}`, { cause: error });
    }
  }
  try {
    return unpack(value) as unknown;
  } catch (error) {
    throw new Error(`neither JSON nor msgpack: ${(error as Error).message}`, { cause: error });
  }
}

/** A telemetry record: `{ value, seq? }` (or a bare number) keyed by asset id. */
export function telemetryCommand(key: string | undefined, decoded: unknown, source: string): InputCommand {
  if (key === undefined || key === '') throw new ValidationError(source, [{ path: 'key', reason: 'telemetry needs the asset id as the message key' }]);
  const value = typeof decoded === 'number' ? decoded : typeof decoded === 'object' && decoded !== null ? (decoded as { value?: unknown }).value : undefined;
  if (typeof decoded === 'object' && decoded !== null && 'seq' in decoded && !Number.isInteger((decoded as { seq: unknown }).seq)) {
    throw new ValidationError(source, [{ path: 'value.seq', reason: 'seq must be an integer when given' }]);
  }
  // The hot path of ingest: checked by hand (same rules as the telemetry schema: a finite number
  // ≥ 0) instead of through the nine-way command union, which costs more than the rest of a message.
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ValidationError(source, [{ path: 'value.value', reason: value === undefined ? 'telemetry needs a numeric value' : `must be a finite number ≥ 0 (got ${JSON.stringify(value)})` }]);
  }
  return { type: 'telemetry', target: key, value };
}

export interface KafkaIngestOptions extends KafkaConnection {
  readonly engine: Engine;
  /** Consumer group (engine nodes of one twin share it; partitions are split between them). */
  readonly groupId: string;
  readonly telemetryTopic?: string;
  /** Input commands (any `InputCommand` as JSON or msgpack); `null` to not consume commands. */
  readonly commandsTopic?: string | null;
  readonly deadLetterTopic?: string;
  /** Queues the journal entries submitted so far for storage; returns the last seq (EngineTap.syncJournal). */
  readonly syncJournal?: () => number;
  /** Resolves once journal entries up to `seq` are durable (HistorySink.journalDurable). */
  readonly durable?: (seq: number) => Promise<void>;
  /** Runs after the batch is journalled and before its offsets are committed (batch mode: advance the engine). */
  readonly afterBatch?: () => Promise<void>;
  /** Start from the beginning of the topics when the group has no committed offsets (default true). */
  readonly fromBeginning?: boolean;
}

export interface IngestCounters {
  accepted: number;
  duplicates: number;
  deadLettered: number;
  batches: number;
  committed: number;
}

/**
 * @example
 * const ingest = new KafkaIngest({ brokers: ['127.0.0.1:59092'], groupId: 'twin', engine, syncJournal: () => tap.syncJournal(), durable: (s) => sink.journalDurable(s) });
 * await ingest.start();
 */
export class KafkaIngest implements HealthReporter {
  readonly counters: IngestCounters = { accepted: 0, duplicates: 0, deadLettered: 0, batches: 0, committed: 0 };
  private readonly kafka: Kafka;
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly topics: { telemetry: string; commands: string | null; deadLetter: string };
  private up = false;
  private lastError: string | undefined;
  private lastOkAt = 0;
  private inFlight = 0;

  constructor(private readonly options: KafkaIngestOptions) {
    this.kafka = kafkaClient(options);
    this.consumer = this.kafka.consumer({ groupId: options.groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxBytesPerPartition: 1_048_576 });
    this.producer = this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true });
    this.topics = {
      telemetry: options.telemetryTopic ?? TELEMETRY_TOPIC,
      commands: options.commandsTopic === undefined ? COMMANDS_TOPIC : options.commandsTopic,
      deadLetter: options.deadLetterTopic ?? DEAD_LETTER_TOPIC,
    };
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      this.up = false;
      this.lastError = describeError(event.payload.error);
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      this.up = true;
    });
  }

  /** Connects, joins the group and starts consuming. */
  async start(): Promise<void> {
    await this.producer.connect();
    await this.consumer.connect();
    const topics = [this.topics.telemetry, ...(this.topics.commands === null ? [] : [this.topics.commands])];
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [...topics, this.topics.deadLetter].map((topic) => ({ topic })), waitForLeaders: true }).catch(() => false);
    } finally {
      await admin.disconnect();
    }
    await this.consumer.subscribe({ topics, fromBeginning: this.options.fromBeginning ?? true });
    await this.consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (payload) => this.onBatch(payload) });
  }

  private async onBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { engine } = this.options;
    const source = `kafka:${batch.topic}:${batch.partition}`;
    const isTelemetry = batch.topic === this.topics.telemetry;
    const dead: Array<{ key: Buffer | null; value: Buffer | null; headers: Record<string, string> }> = [];
    let last: string | undefined;
    this.inFlight++;
    try {
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) break;
        const offset = Number(message.offset);
        try {
          if (message.value === null) throw new Error('empty value (tombstone)');
          const decoded = decodeValue(message.value);
          const command = isTelemetry ? telemetryCommand(message.key?.toString(), decoded, source) : parseCommand(decoded, source);
          const entry = engine.submit(command, { source, sourceSeq: offset });
          if (entry === undefined) this.counters.duplicates++;
          else this.counters.accepted++;
        } catch (error) {
          if (engine.journal.isDuplicate(source, offset)) this.counters.duplicates++;
          else {
            dead.push({
              key: message.key,
              value: message.value,
              headers: { 'stratum-reason': reasonOf(error), 'stratum-source-topic': batch.topic, 'stratum-source-partition': String(batch.partition), 'stratum-source-offset': message.offset },
            });
          }
        }
        last = message.offset;
      }
      if (last === undefined) return;
      const seq = this.options.syncJournal?.() ?? engine.journal.length - 1;
      if (dead.length > 0) {
        await this.producer.send({ topic: this.topics.deadLetter, messages: dead });
        this.counters.deadLettered += dead.length;
      }
      // At least once: the batch's journal entries must be durable before its offsets are committed.
      if (this.options.durable !== undefined) {
        // Keep the group membership alive while the history store catches up.
        let done = false;
        const wait = this.options.durable(seq).then(() => void (done = true));
        while (!done) {
          await Promise.race([wait, new Promise((r) => setTimeout(r, 1_000))]);
          if (!done) await heartbeat();
        }
      }
      await this.options.afterBatch?.();
      resolveOffset(last);
      await commitOffsetsIfNecessary();
      await heartbeat();
      this.counters.batches++;
      this.counters.committed = Number(last) + 1;
      this.lastOkAt = Date.now();
      this.up = true;
    } catch (error) {
      this.lastError = describeError(error);
      throw error;
    } finally {
      this.inFlight--;
    }
  }

  health(): ServiceHealth {
    const base = { service: 'bus' as const, backend: 'kafka-ingest', up: this.up, pending: this.inFlight, bound: 1, dropped: 0, written: this.counters.accepted, lastOkAt: this.lastOkAt };
    return this.lastError === undefined ? base : { ...base, lastError: this.lastError };
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
    await this.producer.disconnect();
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof ValidationError) return `${error.message}: ${error.problems.map((p) => `${p.path} ${p.reason}`).join('; ')}`;
  return describeError(error);
}

/** JSON of one state change on `stratum.events` (key: the actor id). */
export function eventJson(change: StateChange, id: string): string {
  return JSON.stringify({ time: change.time, seq: change.seq, id, actor: change.actor, before: change.before, after: change.after, cause: change.cause });
}

/**
 * Publishes the engine's state-change stream to `stratum.events`, keyed by actor id, batched per
 * turn of the event loop, written behind with a bound (the oldest go first, counted in `dropped`).
 */
export class KafkaEventPublisher implements HealthReporter {
  private readonly producer: Producer;
  private pending: Array<{ key: string; value: string }> = [];
  private loop: Promise<void> | undefined;
  private readonly off: () => void;
  private connected: Promise<void> | undefined;
  private up = true;
  private lastError: string | undefined;
  private lastOkAt = 0;
  private written = 0;
  private dropped = 0;
  private closed = false;

  constructor(connection: KafkaConnection, engine: Engine, private readonly topic = EVENTS_TOPIC, private readonly bound = 200_000) {
    this.producer = kafkaClient(connection).producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true });
    const ids = engine.index.ids;
    this.off = engine.stream.subscribe((change) => {
      this.pending.push({ key: ids[change.actor] ?? String(change.actor), value: eventJson(change, ids[change.actor] ?? '') });
      if (this.pending.length > this.bound) {
        this.pending.shift();
        this.dropped++;
      }
      this.kick();
    });
  }

  private kick(): void {
    if (this.loop !== undefined || this.closed) return;
    this.loop = new Promise<void>((r) => setImmediate(r)).then(() => this.run()).finally(() => {
      this.loop = undefined;
      if (!this.closed && this.pending.length > 0) this.kick();
    });
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (!this.closed && this.pending.length > 0) {
      const batch = this.pending.slice(0, 10_000);
      try {
        this.connected ??= this.producer.connect();
        await this.connected;
        await this.producer.send({ topic: this.topic, messages: batch });
        this.pending.splice(0, batch.length);
        this.written += batch.length;
        this.up = true;
        this.lastOkAt = Date.now();
        backoff = 100;
      } catch (error) {
        this.connected = undefined;
        this.up = false;
        this.lastError = describeError(error);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(2_000, backoff * 2);
      }
    }
  }

  async drain(timeoutMs = 10_000): Promise<boolean> {
    return drainUntil(() => this.pending.length === 0 && this.loop === undefined, timeoutMs);
  }

  health(): ServiceHealth {
    const base = { service: 'bus' as const, backend: 'kafka-events', up: this.up, pending: this.pending.length, bound: this.bound, dropped: this.dropped, written: this.written, lastOkAt: this.lastOkAt };
    return this.lastError === undefined ? base : { ...base, lastError: this.lastError };
  }

  async close(): Promise<void> {
    this.off();
    await this.drain(5_000);
    this.closed = true;
    await this.loop;
    if (this.connected !== undefined) await this.producer.disconnect().catch(() => {});
  }
}
