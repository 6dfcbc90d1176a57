import { randomUUID } from 'node:crypto';
import { Kafka, logLevel as KafkaLogLevel, Partitioners, type Consumer, type EachBatchPayload, type Producer } from 'kafkajs';
import { unpack } from 'msgpackr';
import { parseCommand, ValidationError, type BusPort, type Engine, type InputCommand, type StateChange } from '../../engine/index.ts';
import { admitBatch, type IngestDoor } from '../door/index.ts';
import { describeError, drainUntil, ServiceStatus, type HealthReporter, type ServiceHealth } from './health.ts';

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

/** Powers of ten that doubles hold exactly (10^0 … 10^22). */
const EXACT_POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * The telemetry value of the two shapes producers actually send, read straight from the bytes
 * without decoding the message into objects: JSON `{"value":N}` / `{"value":N,"seq":S}` (no
 * whitespace, N a plain decimal) and msgpack `{value, seq?}` (a map with those keys in that order, N
 * a float64 or an unsigned integer). Returns undefined for anything else, and for values the
 * general path must judge (negative, exponent, long mantissa); the caller then takes that path,
 * so results and error messages stay those of `decodeValue` + `telemetryCommand`.
 *
 * Why: JSON.parse / unpack plus the object they build cost more per message than everything else
 * the engine does with a reading; this keeps ingest within reach of a bare Kafka consumer.
 */
export function fastTelemetryValue(b: Buffer): number | undefined {
  const first = b[0];
  if (first === 0x7b) return fastJson(b);
  if (first === 0x81 || first === 0x82 || first === 0xde) return fastMsgpack(b);
  return undefined;
}

// `{"value":` as bytes.
const JSON_VALUE_PREFIX = [0x7b, 0x22, 0x76, 0x61, 0x6c, 0x75, 0x65, 0x22, 0x3a];
// `,"seq":` as bytes.
const JSON_SEQ_PREFIX = [0x2c, 0x22, 0x73, 0x65, 0x71, 0x22, 0x3a];

function fastJson(b: Buffer): number | undefined {
  const n = b.length;
  if (n < 11) return undefined;
  for (let i = 0; i < 9; i++) if (b[i] !== JSON_VALUE_PREFIX[i]) return undefined;
  // A JSON number without sign or exponent: 0 | [1-9][0-9]*, then optionally . [0-9]+.
  let p = 9;
  let mantissa = 0;
  let digits = 0;
  let c = b[p]!;
  if (c === 0x30) {
    p++;
  } else if (c >= 0x31 && c <= 0x39) {
    while (p < n && (c = b[p]!) >= 0x30 && c <= 0x39) {
      mantissa = mantissa * 10 + (c - 0x30);
      digits++;
      p++;
    }
  } else {
    return undefined;
  }
  let fraction = 0;
  if (p < n && b[p] === 0x2e) {
    p++;
    while (p < n && (c = b[p]!) >= 0x30 && c <= 0x39) {
      mantissa = mantissa * 10 + (c - 0x30);
      digits++;
      fraction++;
      p++;
    }
    if (fraction === 0) return undefined;
  }
  // Up to 15 digits the mantissa is an exact integer and 10^k an exact double, so one IEEE division
  // gives the correctly rounded value — the same double JSON.parse returns (Clinger's fast path).
  if (digits > 15) return undefined;
  const value = fraction === 0 ? mantissa : mantissa / EXACT_POW10[fraction]!;
  if (p === n - 1 && b[p] === 0x7d) return value;
  for (let i = 0; i < 7; i++) if (b[p + i] !== JSON_SEQ_PREFIX[i]) return undefined;
  p += 7;
  // seq: a non-negative JSON integer (0 | [1-9][0-9]*).
  c = b[p] ?? 0;
  if (c === 0x30) p++;
  else if (c >= 0x31 && c <= 0x39) while (p < n && (c = b[p]!) >= 0x30 && c <= 0x39) p++;
  else return undefined;
  return p === n - 1 && b[p] === 0x7d ? value : undefined;
}

// fixstr "value", fixstr "seq".
const MSGPACK_VALUE_KEY = [0xa5, 0x76, 0x61, 0x6c, 0x75, 0x65];
const MSGPACK_SEQ_KEY = [0xa3, 0x73, 0x65, 0x71];

function fastMsgpack(b: Buffer): number | undefined {
  let p: number;
  let entries: number;
  if (b[0] === 0xde) {
    if (b.length < 3 || b[1] !== 0) return undefined;
    entries = b[2]!;
    p = 3;
  } else {
    entries = b[0]! & 0x0f;
    p = 1;
  }
  if (entries !== 1 && entries !== 2) return undefined;
  for (let i = 0; i < 6; i++) if (b[p + i] !== MSGPACK_VALUE_KEY[i]) return undefined;
  p += 6;
  const value = readMsgpackNumber(b, p, true);
  if (Number.isNaN(value)) return undefined;
  p = msgpackCursor;
  if (entries === 2) {
    for (let i = 0; i < 4; i++) if (b[p + i] !== MSGPACK_SEQ_KEY[i]) return undefined;
    if (Number.isNaN(readMsgpackNumber(b, p + 4, false))) return undefined;
    p = msgpackCursor;
  }
  return p === b.length && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Where the last `readMsgpackNumber` stopped (a module cursor: no tuple per message). */
let msgpackCursor = 0;

/**
 * A non-negative integer (fixint, uint8/16/32) or, when `float`, a float64 at `p`; NaN when the
 * bytes hold anything else. Sets `msgpackCursor` past it.
 */
function readMsgpackNumber(b: Buffer, p: number, float: boolean): number {
  const tag = b[p];
  if (tag === undefined) return NaN;
  let size = 0;
  let value = NaN;
  if (tag <= 0x7f) {
    size = 1;
    value = tag;
  } else if (tag === 0xcc && p + 2 <= b.length) {
    size = 2;
    value = b[p + 1]!;
  } else if (tag === 0xcd && p + 3 <= b.length) {
    size = 3;
    value = b.readUInt16BE(p + 1);
  } else if (tag === 0xce && p + 5 <= b.length) {
    size = 5;
    value = b.readUInt32BE(p + 1);
  } else if (float && tag === 0xcb && p + 9 <= b.length) {
    size = 9;
    value = b.readDoubleBE(p + 1);
  }
  msgpackCursor = p + size;
  return value;
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
  /** The server's door (gateways/door/control.ts `Control`), so the guard policy applies to Kafka commands; absent: the door's batch step without a guard (a separate ingest process). */
  readonly door?: IngestDoor;
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
  /** Called after a batch's offsets are committed (benchmarks time the ingest with it). */
  readonly onBatchDone?: (counters: Readonly<IngestCounters>) => void;
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
  /** The committed position (next offset to read) per `topic:partition`: where a restart resumes. */
  readonly committedOffsets = new Map<string, number>();
  private readonly kafka: Kafka;
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly topics: { telemetry: string; commands: string | null; deadLetter: string };
  /** Down until the consumer joins its group; `written` is not used (the counters say what was accepted). */
  private readonly status = new ServiceStatus(false);
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
      this.status.failed(event.payload.error);
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      this.status.up = true;
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

  /**
   * One Kafka batch: decode every message, submit the good ones to the engine in one call (one
   * journal append, one duplicate check against the source's last offset), dead-letter the bad
   * ones, wait until the journal entries are durable, run `afterBatch`, then commit the offset after
   * the batch's last message. A crash anywhere before the commit redelivers the batch; its
   * already-journalled messages are then dropped as duplicates by (source, offset).
   */
  private async onBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { engine } = this.options;
    const keys = this.assetKeys();
    const source = `kafka:${batch.topic}:${batch.partition}`;
    const isTelemetry = batch.topic === this.topics.telemetry;
    const messages = batch.messages;
    const dead: Array<{ key: Buffer | null; value: Buffer | null; headers: Record<string, string> }> = [];
    const deadLetter = (message: (typeof messages)[number], error: unknown): void => {
      dead.push({
        key: message.key,
        value: message.value,
        headers: { 'stratum-reason': reasonOf(error), 'stratum-source-topic': batch.topic, 'stratum-source-partition': String(batch.partition), 'stratum-source-offset': message.offset },
      });
    };
    const commands: InputCommand[] = [];
    const offsets: number[] = [];
    // Message position of each command, kept only once a message failed to decode (until then, equal).
    let positions: number[] | undefined;
    let decodeDuplicates = 0;
    let end = 0;
    this.inFlight++;
    try {
      for (; end < messages.length; end++) {
        // isStale() builds a string key per call; the ingest never seeks, so a look every 256
        // messages is enough to stop soon after a rebalance or a stop.
        if ((end & 255) === 0 && (!isRunning() || isStale())) break;
        const message = messages[end]!;
        const offset = Number(message.offset);
        try {
          if (message.value === null) throw new Error('empty value (tombstone)');
          // The usual reading: a known asset id as key and a value of the shapes read from the
          // bytes. The command then names the asset with the index's own id string, so no key is
          // decoded and nothing per message but the command joins the journal.
          const asset = isTelemetry && message.key !== null ? keys.lookup(message.key) : -1;
          const fast = asset >= 0 ? fastTelemetryValue(message.value) : undefined;
          if (fast !== undefined) {
            commands.push({ type: 'telemetry', target: keys.ids[asset]!, value: fast });
          } else {
            const key = message.key?.toString();
            commands.push(isTelemetry ? telemetryCommand(key, decodeValue(message.value), source) : parseCommand(decodeValue(message.value), source));
          }
          offsets.push(offset);
          positions?.push(end);
        } catch (error) {
          positions ??= Array.from({ length: commands.length }, (_, i) => i);
          if (engine.journal.isDuplicate(source, offset)) decodeDuplicates++;
          else deadLetter(message, error);
        }
      }
      if (end === 0) return;
      const last = messages[end - 1]!.offset;
      // Through the one door (guard policy per input), like every other input of the server.
      const door = this.options.door;
      const rejected = (k: number, error: unknown): void => deadLetter(messages[positions?.[k] ?? k]!, error);
      const result = door === undefined ? admitBatch(engine, undefined, commands, { source, sourceSeqs: offsets }, rejected) : door.submitBatch(commands, { source, sourceSeqs: offsets }, rejected);
      this.counters.accepted += result.accepted;
      this.counters.duplicates += result.duplicates + decodeDuplicates;
      const seq = this.options.syncJournal?.() ?? engine.journal.length - 1;
      if (dead.length > 0) {
        // Decoding and the engine reject at two places; the dead-letter topic keeps source order.
        dead.sort((x, y) => Number(x.headers['stratum-source-offset']) - Number(y.headers['stratum-source-offset']));
        await this.producer.send({ topic: this.topics.deadLetter, messages: dead });
        this.counters.deadLettered += dead.length;
      }
      // At least once: the batch's journal entries must be durable before its offsets are committed
      // (the engine's own journal file first, then the history store when one is wired).
      await engine.journal.whenDurable();
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
      // Explicit offsets: with autoCommit off, commitOffsetsIfNecessary() without them never commits.
      const next = String(Number(last) + 1);
      await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
      await heartbeat();
      this.counters.batches++;
      this.counters.committed = Number(next);
      this.committedOffsets.set(`${batch.topic}:${batch.partition}`, Number(next));
      this.status.succeeded(0);
      this.options.onBatchDone?.(this.counters);
    } catch (error) {
      // A failed batch is retried by kafkajs; only a consumer crash marks the bus down.
      this.status.lastError = describeError(error);
      throw error;
    } finally {
      this.inFlight--;
    }
  }

  private keys: AssetKeys | undefined;

  private assetKeys(): AssetKeys {
    this.keys ??= new AssetKeys(this.options.engine.index.ids.slice(0, this.options.engine.index.assetCount));
    return this.keys;
  }

  health(): ServiceHealth {
    return this.status.report('bus', 'kafka-ingest', { pending: this.inFlight, bound: 1, written: this.counters.accepted });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
    await this.producer.disconnect();
  }
}

/**
 * Asset ids by the bytes of a Kafka key: an open-addressing table over their UTF-8 encodings, so a
 * key is found without decoding it into a string (which costs more than the rest of a reading).
 * Equal bytes are equal UTF-8 text, so a hit is exactly the id `key.toString()` would give.
 */
export class AssetKeys {
  private readonly mask: number;
  private readonly slots: Int32Array;
  private readonly bytes: Buffer[];

  constructor(readonly ids: readonly string[]) {
    let size = 16;
    while (size < ids.length * 2) size <<= 1;
    this.mask = size - 1;
    this.slots = new Int32Array(size).fill(-1);
    this.bytes = ids.map((id) => Buffer.from(id, 'utf8'));
    for (let a = 0; a < ids.length; a++) {
      let slot = hashBytes(this.bytes[a]!) & this.mask;
      while (this.slots[slot] !== -1) slot = (slot + 1) & this.mask;
      this.slots[slot] = a;
    }
  }

  /** The position in `ids` of the id whose UTF-8 bytes are `key`, or -1. */
  lookup(key: Buffer): number {
    let slot = hashBytes(key) & this.mask;
    for (;;) {
      const a = this.slots[slot]!;
      if (a < 0) return -1;
      const b = this.bytes[a]!;
      if (b.length === key.length) {
        let i = 0;
        while (i < b.length && b[i] === key[i]) i++;
        if (i === b.length) return a;
      }
      slot = (slot + 1) & this.mask;
    }
  }
}

/** FNV-1a, 32 bits. */
function hashBytes(b: Buffer): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
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
  private readonly status = new ServiceStatus();
  private closed = false;

  constructor(connection: KafkaConnection, engine: Engine, private readonly topic = EVENTS_TOPIC, private readonly bound = 200_000) {
    this.producer = kafkaClient(connection).producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true });
    const ids = engine.index.ids;
    this.off = engine.stream.subscribe((change) => {
      this.pending.push({ key: ids[change.actor] ?? String(change.actor), value: eventJson(change, ids[change.actor] ?? '') });
      if (this.pending.length > this.bound) {
        this.pending.shift();
        this.status.dropped++;
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
        this.status.succeeded(batch.length);
        backoff = 100;
      } catch (error) {
        this.connected = undefined;
        this.status.failed(error);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(2_000, backoff * 2);
      }
    }
  }

  async drain(timeoutMs = 10_000): Promise<boolean> {
    return drainUntil(() => this.pending.length === 0 && this.loop === undefined, timeoutMs);
  }

  health(): ServiceHealth {
    return this.status.report('bus', 'kafka-events', { pending: this.pending.length, bound: this.bound });
  }

  async close(): Promise<void> {
    this.off();
    await this.drain(5_000);
    this.closed = true;
    await this.loop;
    if (this.connected !== undefined) await this.producer.disconnect().catch(() => {});
  }
}
