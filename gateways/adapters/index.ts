/** Real adapters behind the engine's ports: Kafka (kafkajs), TimescaleDB/PostgreSQL (pg), Redis (ioredis). */
export { KafkaBus, KafkaIngest, KafkaEventPublisher, kafkaClient, brokersFromEnv, decodeValue, telemetryCommand, eventJson, TELEMETRY_TOPIC, COMMANDS_TOPIC, EVENTS_TOPIC, DEAD_LETTER_TOPIC } from './kafka.ts';
export type { KafkaConnection, KafkaIngestOptions, IngestCounters } from './kafka.ts';
export { PgHistory, changeLine, CHANGE_COLUMNS } from './timescale.ts';
export type { HistoryMode, PgHistoryOptions, HistoryBucket, LayerDistrictBucket, Snapshot } from './timescale.ts';
export { RedisCache, connectRedis, attachRedisStreamsAdapter } from './redis.ts';
export type { RedisCacheOptions } from './redis.ts';
export { HistorySink, CacheSink, EngineTap } from './sinks.ts';
export type { SinkOptions } from './sinks.ts';
export { connectAdapters, registerServiceMetrics } from './wiring.ts';
export { PgRecordings } from './recordings-pg.ts';
export { PgHistoryQueries, SeriesSink } from './history-pg.ts';
export type { PgHistoryQueriesOptions } from './history-pg.ts';
export type { PgRecordingsOptions } from './recordings-pg.ts';
export type { ConnectedAdapters } from './wiring.ts';
export { ServiceUnavailableError, describeError } from './health.ts';
export type { ServiceHealth, HealthReporter } from './health.ts';
export { runStudyOnKafka, startStudyWorker, parseTask, parseResult, StudyFailedError, STUDY_PARTITIONS, DEFAULT_STUDY_TOPIC, DEFAULT_WORKER_GROUP } from './study-kafka.ts';
export type { KafkaStudySettings, StudyWorker, StudyWorkerOptions } from './study-kafka.ts';
