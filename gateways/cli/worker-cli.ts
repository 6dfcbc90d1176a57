import { InvalidArgumentError, type Command } from 'commander';
import type { StudyCity, StudyOptions, StudyResult } from '../../actors/index.ts';
import { hashCity, parseCityDocument, readTextFile } from '../../engine/index.ts';
import { brokersFromEnv } from '../adapters/kafka.ts';
import { DEFAULT_STUDY_TOPIC, DEFAULT_WORKER_GROUP, runStudyOnKafka, startStudyWorker } from '../adapters/study-kafka.ts';
import { UsageError, type Io } from './analysis-cli.ts';

/**
 * Monte Carlo beyond one process: `stratum worker` (a member of the workers' Kafka consumer group)
 * and the submitting side of `stratum cascade … --workers kafka`.
 */

/** `--brokers`, else STRATUM_KAFKA_BROKERS; a clear usage error when neither is set. */
export function brokersFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const brokers = brokersFromEnv(flag ?? env['STRATUM_KAFKA_BROKERS'] ?? '');
  if (brokers.length === 0) throw new UsageError('Kafka brokers are needed: pass --brokers host:port[,host:port] or set STRATUM_KAFKA_BROKERS');
  for (const broker of brokers) {
    if (!/^[^\s:/]+:\d{1,5}$/.test(broker)) throw new UsageError(`--brokers / STRATUM_KAFKA_BROKERS: "${broker}" is not host:port`);
  }
  return brokers;
}

function topicName(flag: string) {
  return (value: string): string => {
    // Kafka's own rule for topic names (the results topic adds ".results").
    if (!/^[A-Za-z0-9._-]{1,240}$/.test(value)) throw new InvalidArgumentError(`${flag} must be 1-240 letters, digits, . _ - (got "${value}")`);
    return value;
  };
}

function seconds(flag: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${flag} must be a number of seconds from ${min} to ${max} (got "${value}")`);
    return n;
  };
}

/** The tasks topic from the flag (already checked by its parser), else STRATUM_STUDY_TOPIC, else the default. */
function studyTopicFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined) return flag;
  const topic = env['STRATUM_STUDY_TOPIC'] ?? DEFAULT_STUDY_TOPIC;
  if (!/^[A-Za-z0-9._-]{1,240}$/.test(topic)) throw new UsageError(`STRATUM_STUDY_TOPIC must be 1-240 letters, digits, . _ - (got "${topic}")`);
  return topic;
}

export const STUDY_TOPIC_HELP = `Kafka topic of the study tasks; results go to <topic>.results (default STRATUM_STUDY_TOPIC or ${DEFAULT_STUDY_TOPIC})`;
export const studyTopicOption = topicName('--study-topic');

/**
 * The runner of `cascade --workers kafka`: reads the city file's text once more (workers parse
 * it themselves), checks it is the city `study` was built from, and sends the study to the workers.
 * Progress goes to `onRun` (the progress bar) and, when stderr is not a terminal, to a line per 10%.
 */
export function kafkaStudyRunner(
  cityFile: string,
  flags: { brokers?: string; studyTopic?: string },
  io: Io,
): (study: StudyCity, options: StudyOptions) => Promise<StudyResult> {
  const brokers = brokersFrom(flags.brokers);
  const topic = studyTopicFrom(flags.studyTopic);
  return async (study, options) => {
    const text = readTextFile(cityFile);
    let document: unknown;
    try {
      document = JSON.parse(text) as unknown;
    } catch (error) {
      throw new UsageError(`${cityFile}: not valid JSON: ${(error as Error).message}`);
    }
    if (hashCity(parseCityDocument(document, cityFile)) !== study.cityHash) throw new UsageError(`${cityFile} changed while the study was being prepared; run it again`);
    let printed = 0;
    return runStudyOnKafka(study, text, options, {
      brokers,
      topic,
      log: (line) => io.err(`kafka: ${line}\n`),
      onProgress: (done, total, workers) => {
        options.onRun?.(done, total);
        if (process.stderr.isTTY) return;
        const tenth = Math.floor((done * 10) / total);
        if (tenth > printed || done === total) {
          printed = tenth;
          io.err(`kafka: ${done}/${total} runs done by ${workers} worker(s)\n`);
        }
      },
    });
  };
}

/** Adds `stratum worker`. */
export function registerWorkerCommands(program: Command, io: Io): void {
  program
    .command('worker')
    .description('Monte Carlo worker: joins a Kafka consumer group and runs batches of the studies sent with `stratum cascade … --workers kafka` until stopped (SIGINT/SIGTERM)')
    .option('--brokers <list>', 'Kafka brokers, host:port[,host:port] (default STRATUM_KAFKA_BROKERS)')
    .option('--study-topic <name>', STUDY_TOPIC_HELP, studyTopicOption)
    .option('--group <name>', `consumer group the workers share (default ${DEFAULT_WORKER_GROUP})`, topicName('--group'), DEFAULT_WORKER_GROUP)
    .option('--name <name>', 'this worker\'s name in results and logs (default host:pid)')
    .option('--session-timeout <seconds>', 'how long a dead worker\'s tasks wait before another worker takes them; one run must finish within it (the broker allows 6 to 300)', seconds('--session-timeout', 6, 300), 30)
    .action(async (opts: { brokers?: string; studyTopic?: string; group: string; name?: string; sessionTimeout: number }) => {
      const brokers = brokersFrom(opts.brokers);
      const topic = studyTopicFrom(opts.studyTopic);
      const worker = await startStudyWorker({
        brokers,
        topic,
        group: opts.group,
        ...(opts.name === undefined ? {} : { name: opts.name }),
        sessionTimeoutMs: Math.round(opts.sessionTimeout * 1000),
        log: (line) => io.err(`worker: ${line}\n`),
        onRun: (studyId, run) => io.err(`worker: study ${studyId} run ${run} done\n`),
      });
      await worker.joined;
      io.err(`worker: joined group ${opts.group} on ${topic} at ${brokers.join(',')}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          void worker.stop().then(resolve, resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      io.err(`worker: stopped after ${worker.counters.runs} run(s) in ${worker.counters.batches} batch(es), ${worker.counters.rejected} rejected\n`);
    });
}
