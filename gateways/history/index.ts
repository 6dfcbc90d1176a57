/** History of the live engine and of each session: the hub, the series tracker, the embedded store and its query contract, and the history routes. */
export { ALL } from './history-series.ts';
export type { SeriesSample, SeriesValues } from './history-series.ts';
export { contractData } from './history-contract.ts';
export type { AssetHistory, AssetRaw, AssetRawBucket, HeldHistory, HistoryQueries, SeriesRaw, StatusChangeRecord } from './history-store.ts';
export { parseDuration, parseInstant, registerHistoryRoutes } from './history-routes.ts';
export type { HistoryHub } from './history.ts';
export { READING_KINDS, MAX_READINGS_PER_SERIES, WaterReadingHistory, registerWaterReadingRoutes } from './water-history.ts';
export type { ReadingKind, ReadingBucket, WaterNow } from './water-history.ts';
