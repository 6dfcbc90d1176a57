import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { gunzipSync, gzipSync } from 'node:zlib';
import { logLevel as KafkaLogLevel, type Admin, type Consumer, type Kafka, type Producer } from 'kafkajs';
import { pack, unpack } from 'msgpackr';
import { z } from 'zod';
import { StudyCity, runOnce, summariseStudy, type SingleRun, type StudyOptions, type StudyResult } from '../../actors/index.ts';
import { StratumError, mixSeed, parseCityDocument, zodProblems } from '../../engine/index.ts';
import { kafkaClient } from './kafka.ts';

/**
 * Monte Carlo studies spread over `stratum worker` processes through Kafka.
 *
 * The submitter (`stratum cascade … --workers kafka`) cuts the study's runs into batches and
 * publishes one task per batch on `<topic>` (partitions spread round-robin); every task carries
 * the gzipped city file, the study's options and the run numbers. Workers share one consumer group
 * on that topic, so Kafka hands each partition to one live worker. A worker runs each run of a
 * batch (seed = mixSeed(study seed, run), exactly as a local study does), publishes one result per
 * run on `<topic>.results`, and only then lets its offset be committed: at least once. A worker
 * killed mid-batch leaves its task uncommitted; after its session times out, the group gives the
 * partition to another worker, which redoes the batch. The submitter keeps the first result of
 * each run index and drops the repeats (checking that a repeat has the same state hash, which a
 * deterministic run must), so the study's result equals a local run with the same seed.
 */

/** Partitions of a tasks topic created here: the most workers that can share one study. */
export const STUDY_PARTITIONS = 12;
/** Tasks and results are not kept longer: a worker group joining for the first time reads the tasks topic from its start. */
const RETENTION_MS = String(24 * 3600 * 1000);
/**
 * Every task carries the gzipped city (about 23 B per asset: 2.3 MB for 100,000 assets), more than
 * Kafka's default 1 MiB per message, so the tasks topic is created with max.message.bytes of 16 MiB
 * (about 700,000 assets); a task must stay under it with room to spare.
 */
const TOPIC_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const MAX_TASK_BYTES = TOPIC_MAX_MESSAGE_BYTES - 64 * 1024;
/** Tasks are sent in requests of at most this many bytes (the broker refuses requests over 100 MB). */
const MAX_SEND_BYTES = 8 * 1024 * 1024;
export const DEFAULT_STUDY_TOPIC = 'stratum.studies';
export const DEFAULT_WORKER_GROUP = 'stratum-study-workers';

const AttackSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('highest-load') }).strict(),
  z.object({ kind: z.literal('highest-degree') }).strict(),
  z.object({ kind: z.literal('random'), count: z.number().int().min(1) }).strict(),
  z.object({ kind: z.literal('ids'), ids: z.array(z.string()).readonly() }).strict(),
]);

const TaskOptionsSchema = z
  .object({
    model: z.enum(['motter-lai', 'interdependent', 'stochastic']),
    runs: z.number().int().min(1).max(1_000_000),
    seed: z.number().finite().min(0),
    alpha: z.number().finite().min(0).optional(),
    attack: AttackSchema.optional(),
    attackLayer: z.string().optional(),
    removeFraction: z.number().min(0).max(1).optional(),
    untilSeconds: z.number().finite().positive().optional(),
  })
  .strict();

const TaskSchema = z
  .object({
    v: z.literal(1),
    studyId: z.string().min(1).max(100),
    batch: z.number().int().min(0),
    runs: z.array(z.number().int().min(0)).min(1),
    options: TaskOptionsSchema,
    cityHash: z.string().regex(/^[0-9a-f]{64}$/),
    city: z.instanceof(Uint8Array),
  })
  .strict()
  .refine((t) => t.runs.every((r) => r < t.options.runs), { message: 'a run number is not below options.runs', path: ['runs'] });

const OutcomeSchema = z
  .object({
    seed: z.number().int().min(0),
    triggered: z.array(z.string()),
    failedFraction: z.number().min(0).max(1),
    stateHash: z.string(),
    giantComponentFraction: z.number().min(0).max(1).optional(),
    giantComponentByLayer: z.record(z.string(), z.number().min(0).max(1)).optional(),
    mutualGiantComponentFraction: z.number().min(0).max(1).optional(),
  })
  .strict();

const ResultSchema = z.union([
  z
    .object({
      v: z.literal(1),
      studyId: z.string(),
      run: z.number().int().min(0),
      worker: z.string(),
      outcome: OutcomeSchema,
      /** Asset indices that failed at some point in the run. */
      failed: z.array(z.number().int().min(0)),
      /** [asset index, failures it directly caused] for the assets that caused any. */
      caused: z.array(z.tuple([z.number().int().min(0), z.number().min(0)])),
    })
    .strict(),
  z.object({ v: z.literal(1), studyId: z.string(), batch: z.number().int().min(0), worker: z.string(), error: z.string() }).strict(),
]);

type Task = z.infer<typeof TaskSchema>;
type ResultMessage = z.infer<typeof ResultSchema>;

/** The options a task carries: a study's options without the local-only callback and thread count. */
function taskOptions(options: StudyOptions): z.input<typeof TaskOptionsSchema> {
  return {
    model: options.model,
    runs: options.runs,
    seed: options.seed,
    ...(options.alpha === undefined ? {} : { alpha: options.alpha }),
    ...(options.attack === undefined ? {} : { attack: options.attack }),
    ...(options.attackLayer === undefined ? {} : { attackLayer: options.attackLayer }),
    ...(options.removeFraction === undefined ? {} : { removeFraction: options.removeFraction }),
    ...(options.untilSeconds === undefined ? {} : { untilSeconds: options.untilSeconds }),
  };
}

/** Back from the validated task to the study options (no `undefined` members: exactOptionalPropertyTypes). */
function studyOptions(parsed: Task['options']): StudyOptions {
  return {
    model: parsed.model,
    runs: parsed.runs,
    seed: parsed.seed,
    ...(parsed.alpha === undefined ? {} : { alpha: parsed.alpha }),
    ...(parsed.attack === undefined ? {} : { attack: parsed.attack }),
    ...(parsed.attackLayer === undefined ? {} : { attackLayer: parsed.attackLayer }),
    ...(parsed.removeFraction === undefined ? {} : { removeFraction: parsed.removeFraction }),
    ...(parsed.untilSeconds === undefined ? {} : { untilSeconds: parsed.untilSeconds }),
  };
}

/** Decodes and validates a task message; throws with the reason and the JSON path. */
export function parseTask(value: Buffer | null): Task {
  if (value === null) throw new Error('empty value (tombstone)');
  let decoded: unknown;
  try {
    decoded = unpack(value) as unknown;
  } catch (error) {
    throw new Error(`not msgpack: ${(error as Error).message}`, { cause: error });
  }
  const parsed = TaskSchema.safeParse(decoded);
  if (!parsed.success) throw new Error(zodProblems(parsed.error).map((p) => `${p.path}: ${p.reason}`).join('; '));
  return parsed.data;
}

/** Decodes and validates a result message; throws with the reason and the JSON path. */
export function parseResult(value: Buffer | null): ResultMessage {
  if (value === null) throw new Error('empty value (tombstone)');
  let decoded: unknown;
  try {
    decoded = JSON.parse(value.toString('utf8')) as unknown;
  } catch (error) {
    throw new Error(`not JSON: ${(error as Error).message}`, { cause: error });
  }
  const parsed = ResultSchema.safeParse(decoded);
  if (!parsed.success) throw new Error(zodProblems(parsed.error).map((p) => `${p.path}: ${p.reason}`).join('; '));
  return parsed.data;
}

/** Creates the tasks and results topics if missing; returns the tasks topic's partition count. */
async function ensureTopics(admin: Admin, topic: string): Promise<number> {
  const configEntries = [{ name: 'retention.ms', value: RETENTION_MS }];
  await admin
    .createTopics({
      waitForLeaders: true,
      topics: [
        { topic, numPartitions: STUDY_PARTITIONS, configEntries: [...configEntries, { name: 'max.message.bytes', value: String(TOPIC_MAX_MESSAGE_BYTES) }] },
        { topic: `${topic}.results`, numPartitions: 1, configEntries },
      ],
    })
    .catch(() => false); // already there (another submitter or worker created it)
  // When another process created the topic a moment ago, this broker may not host it yet (Kafka's
  // UNKNOWN_TOPIC_OR_PARTITION, a retriable state while the creation propagates): wait for it.
  for (let attempt = 0; ; attempt++) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      return metadata.topics[0]?.partitions.length ?? 1;
    } catch (error) {
      const { type } = error as { type?: string };
      if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' || attempt >= TOPIC_WAIT_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * Math.min(attempt + 1, 10)));
    }
  }
}

/** How often `ensureTopics` asks again for a topic another process is creating (about 30 s in all). */
const TOPIC_WAIT_ATTEMPTS = 50;

export class StudyFailedError extends StratumError {}

export interface KafkaStudySettings {
  readonly brokers: readonly string[];
  /** Tasks topic; results go to `<topic>.results` (default `stratum.studies`). */
  readonly topic?: string;
  /** Runs per task (default: the runs cut into about 4 tasks per partition). */
  readonly batchSize?: number;
  /** Called on every new run result, with the number of distinct workers heard from. */
  readonly onProgress?: (done: number, total: number, workers: number) => void;
  /** Notices (no results for a while, duplicates dropped). */
  readonly log?: (line: string) => void;
  /** Silence after which a notice says that no worker seems to be running (default 15 s). */
  readonly stallNoticeMs?: number;
}

/**
 * Runs a study on `stratum worker` processes: publishes its batches, collects one result per run
 * (first wins, repeats checked) and summarises them in run order, as `runStudy` does locally.
 * `cityText` is the city file's text; it must be the file `study` was loaded from.
 */
export async function runStudyOnKafka(study: StudyCity, cityText: string, options: StudyOptions, settings: KafkaStudySettings): Promise<StudyResult> {
  if (!(options.runs >= 1)) throw new RangeError('--runs must be at least 1');
  const topic = settings.topic ?? DEFAULT_STUDY_TOPIC;
  const resultsTopic = `${topic}.results`;
  const log = settings.log ?? (() => {});
  const studyId = randomUUID();
  const city = gzipSync(cityText);
  const kafka = kafkaClient({ brokers: settings.brokers, clientId: `stratum-study-${studyId}`, logLevel: KafkaLogLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
  const groupId = `stratum-study-submit-${studyId}`;
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  const results = new Array<SingleRun | undefined>(options.runs);
  const workers = new Set<string>();
  let done = 0;
  let lastProgress = Date.now();
  let failure: Error | undefined;
  let finish: (() => void) | undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  try {
    await admin.connect();
    const partitions = await ensureTopics(admin, topic);
    const ends = await admin.fetchTopicOffsets(resultsTopic);
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic: resultsTopic, fromBeginning: false });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.key?.toString() !== studyId) return;
        let result: ResultMessage;
        try {
          result = parseResult(message.value);
        } catch (error) {
          log(`ignored a malformed result at ${resultsTopic} offset ${message.offset}: ${(error as Error).message}`);
          return;
        }
        workers.add(result.worker);
        if ('error' in result) {
          failure ??= new StudyFailedError(`worker ${result.worker} could not run batch ${result.batch}: ${result.error}`);
          finish?.();
          return;
        }
        if (result.run >= options.runs) return;
        const previous = results[result.run];
        if (previous !== undefined) {
          // At least once: a batch redone after a worker died repeats runs. Same seed ⇒ same run.
          if (previous.outcome.stateHash !== result.outcome.stateHash) {
            failure ??= new StudyFailedError(`run ${result.run} gave two different state hashes (${previous.outcome.stateHash} and ${result.outcome.stateHash} from ${result.worker}): the workers do not run the same code or city`);
            finish?.();
          }
          return;
        }
        results[result.run] = decodeRun(study, result);
        done++;
        lastProgress = Date.now();
        settings.onProgress?.(done, options.runs, workers.size);
        if (done === options.runs) finish?.();
      },
    });
    for (const end of ends) consumer.seek({ topic: resultsTopic, partition: end.partition, offset: end.offset });
    await joined;

    const batchSize = settings.batchSize ?? Math.max(1, Math.ceil(options.runs / (partitions * 4)));
    const messages: Array<{ key: string; value: Buffer; partition: number }> = [];
    const carried = taskOptions(options);
    for (let first = 0, batch = 0; first < options.runs; first += batchSize, batch++) {
      const runs = Array.from({ length: Math.min(batchSize, options.runs - first) }, (_, k) => first + k);
      const value = pack({ v: 1, studyId, batch, runs, options: carried, cityHash: study.cityHash, city });
      if (value.byteLength > MAX_TASK_BYTES) {
        throw new StudyFailedError(`the city is too large to ship in a Kafka task (${value.byteLength} bytes gzipped and packed; the limit is ${MAX_TASK_BYTES}, under the tasks topic's max.message.bytes of 16 MiB)`);
      }
      messages.push({ key: `${studyId}:${batch}`, value, partition: batch % partitions });
    }
    for (let k = 0; k < messages.length; ) {
      const chunk = [messages[k++]!];
      let bytes = chunk[0]!.value.byteLength;
      while (k < messages.length && bytes + messages[k]!.value.byteLength <= MAX_SEND_BYTES) {
        bytes += messages[k]!.value.byteLength;
        chunk.push(messages[k++]!);
      }
      try {
        await producer.send({ topic, messages: chunk });
      } catch (error) {
        if (/too large/i.test((error as Error).message)) {
          throw new StudyFailedError(`${topic} refuses a task of ${chunk[0]!.value.byteLength} bytes (${(error as Error).message}): raise the topic's max.message.bytes to ${TOPIC_MAX_MESSAGE_BYTES} or use a new --study-topic`, { cause: error });
        }
        throw error;
      }
    }
    log(`study ${studyId}: ${options.runs} runs in ${messages.length} tasks on ${topic} (${partitions} partitions)`);

    const stallMs = settings.stallNoticeMs ?? 15_000;
    const watch = setInterval(() => {
      if (Date.now() - lastProgress >= stallMs) {
        log(`no result for ${Math.round((Date.now() - lastProgress) / 1000)} s: is a \`stratum worker\` running against ${settings.brokers.join(',')} on ${topic}?`);
        lastProgress = Date.now();
      }
    }, 1_000);
    try {
      await finished;
    } finally {
      clearInterval(watch);
    }
    if (failure !== undefined) throw failure;
    return summariseStudy(study, options, results as SingleRun[]);
  } finally {
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    // The submitter's group was for this study only.
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

/** A run's result as `runOnce` returned it, from its message (outcome keys in runOnce's order). */
function decodeRun(study: StudyCity, message: Extract<ResultMessage, { run: number }>): SingleRun {
  const count = study.index.assetCount;
  const everFailed = new Uint8Array(count);
  const caused = new Float64Array(count);
  for (const a of message.failed) if (a < count) everFailed[a] = 1;
  for (const [a, n] of message.caused) if (a < count) caused[a] = n;
  const o = message.outcome;
  const outcome = {
    seed: o.seed,
    triggered: o.triggered,
    failedFraction: o.failedFraction,
    stateHash: o.stateHash,
    ...(o.giantComponentFraction === undefined ? {} : { giantComponentFraction: o.giantComponentFraction }),
    ...(o.giantComponentByLayer === undefined ? {} : { giantComponentByLayer: o.giantComponentByLayer }),
    ...(o.mutualGiantComponentFraction === undefined ? {} : { mutualGiantComponentFraction: o.mutualGiantComponentFraction }),
  };
  return { outcome, everFailed, caused };
}

function encodeRun(studyId: string, run: number, worker: string, result: SingleRun): string {
  const failed: number[] = [];
  const caused: Array<[number, number]> = [];
  for (let a = 0; a < result.everFailed.length; a++) {
    if (result.everFailed[a] !== 0) failed.push(a);
    if (result.caused[a] !== 0) caused.push([a, result.caused[a]!]);
  }
  return JSON.stringify({ v: 1, studyId, run, worker, outcome: result.outcome, failed, caused });
}

export interface StudyWorkerOptions {
  readonly brokers: readonly string[];
  readonly topic?: string;
  readonly group?: string;
  /** Name in the results and logs (default host:pid). */
  readonly name?: string;
  /**
   * Kafka session timeout: how long a dead worker's partitions wait before another takes them
   * (default 30 s; the broker's minimum is 6 s). A run is CPU work that blocks the heartbeats, so
   * one run (and the first preparation of a city) must finish within it, or the group takes the
   * partition away and the batch is redone.
   */
  readonly sessionTimeoutMs?: number;
  readonly log?: (line: string) => void;
  /** Called after each run a worker publishes. */
  readonly onRun?: (studyId: string, run: number) => void;
}

export interface StudyWorker {
  /** Resolves once the worker has joined its group. */
  readonly joined: Promise<void>;
  readonly counters: { runs: number; batches: number; rejected: number };
  /** Leaves the group after the run in progress (its batch is not committed, so it is redone elsewhere). */
  stop(): Promise<void>;
}

/** A `stratum worker`: takes study tasks from its group's share of the tasks topic until stopped. */
export async function startStudyWorker(options: StudyWorkerOptions): Promise<StudyWorker> {
  const topic = options.topic ?? DEFAULT_STUDY_TOPIC;
  const resultsTopic = `${topic}.results`;
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const log = options.log ?? (() => {});
  const kafka: Kafka = kafkaClient({ brokers: options.brokers, clientId: `stratum-worker-${name}`, logLevel: KafkaLogLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topic);
  } finally {
    await admin.disconnect();
  }
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  const consumer: Consumer = kafka.consumer({
    groupId: options.group ?? DEFAULT_WORKER_GROUP,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    rebalanceTimeout: Math.max(60_000, 2 * (options.sessionTimeoutMs ?? 30_000)),
    heartbeatInterval: 1_000,
    // Room for one task of the largest city; the runs are CPU work, a long prefetch would only sit here.
    maxBytesPerPartition: TOPIC_MAX_MESSAGE_BYTES,
    maxBytes: 2 * TOPIC_MAX_MESSAGE_BYTES,
  });
  const counters = { runs: 0, batches: 0, rejected: 0 };
  // Cities of recent studies, by hash: every task of a study carries the same city.
  const cities = new Map<string, StudyCity>();
  // Batches this process finished; a redelivery of one (its commit was lost) is not run again.
  const finished = new Set<string>();
  let stopping = false;
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    autoCommitThreshold: 1,
    partitionsConsumedConcurrently: 1,
    eachMessage: async ({ message, partition, heartbeat }) => {
      let task: Task;
      try {
        task = parseTask(message.value);
      } catch (error) {
        counters.rejected++;
        log(`rejected the message at ${topic}[${partition}] offset ${message.offset}: ${(error as Error).message}`);
        const studyId = message.key?.toString().split(':')[0];
        if (studyId !== undefined && studyId !== '') await reportError(studyId, -1, (error as Error).message);
        return;
      }
      const key = `${task.studyId}:${task.batch}`;
      if (finished.has(key)) return;
      let study: StudyCity;
      try {
        study = cityOf(task);
      } catch (error) {
        counters.rejected++;
        log(`rejected batch ${task.batch} of study ${task.studyId}: ${(error as Error).message}`);
        await reportError(task.studyId, task.batch, (error as Error).message);
        return;
      }
      await heartbeat();
      const studyOpts = studyOptions(task.options);
      for (const run of task.runs) {
        // A stop between runs leaves the batch uncommitted: another worker redoes it.
        if (stopping) throw new Error('worker stopping');
        let result: SingleRun;
        try {
          result = await runOnce(study, studyOpts, mixSeed(task.options.seed, run));
        } catch (error) {
          // The same run fails the same way everywhere (an unknown asset in the attack…): tell the submitter.
          counters.rejected++;
          log(`run ${run} of study ${task.studyId} failed: ${(error as Error).message}`);
          await reportError(task.studyId, task.batch, `run ${run}: ${(error as Error).message}`);
          return;
        }
        await producer.send({ topic: resultsTopic, messages: [{ key: task.studyId, value: encodeRun(task.studyId, run, name, result) }] });
        counters.runs++;
        options.onRun?.(task.studyId, run);
        await heartbeat();
      }
      counters.batches++;
      finished.add(key);
      if (finished.size > 10_000) finished.delete(finished.values().next().value!);
    },
  });

  function cityOf(task: Task): StudyCity {
    const cached = cities.get(task.cityHash);
    if (cached !== undefined) return cached;
    let document: unknown;
    try {
      document = JSON.parse(gunzipSync(task.city).toString('utf8')) as unknown;
    } catch (error) {
      throw new Error(`city: not gzipped JSON: ${(error as Error).message}`, { cause: error });
    }
    const study = new StudyCity(parseCityDocument(document, `city of study ${task.studyId}`));
    if (study.cityHash !== task.cityHash) throw new Error(`city: its hash ${study.cityHash} is not the task's ${task.cityHash}`);
    if (cities.size >= 2) cities.delete(cities.keys().next().value!);
    cities.set(task.cityHash, study);
    return study;
  }

  async function reportError(studyId: string, batch: number, error: string): Promise<void> {
    const value = JSON.stringify({ v: 1, studyId, batch: Math.max(0, batch), worker: name, error });
    await producer.send({ topic: resultsTopic, messages: [{ key: studyId, value }] });
  }

  return {
    joined,
    counters,
    stop: async () => {
      stopping = true;
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
