import { useEffect, useState } from 'react';
import type { TwinClient } from '../net/client.ts';
import { Sparkline } from './Sparkline.tsx';

interface ReadingBucket {
  readonly startMs: number;
  readonly min: number;
  readonly max: number;
  readonly last: number;
}
interface Readings {
  readonly readings: { readonly pressureM?: readonly ReadingBucket[]; readonly tankLevelM?: readonly ReadingBucket[]; readonly flowM3s?: readonly ReadingBucket[] };
}

const LABELS = { pressureM: ['Pressure, m (6 h)', '#7fc97f', 1], tankLevelM: ['Tank level, m (6 h)', '#6fb7ff', 1], flowM3s: ['Pump flow, L/s (6 h)', '#ffb84d', 1000] } as const;

/**
 * The history of a water asset's EPANET readings (`GET /api/assets/:id/readings`, the last 6 virtual
 * hours in 15-minute buckets, each bucket's last value) as sparklines in the inspector; refreshed
 * every 5 s. Nothing shows while the asset has no readings.
 */
export function WaterTrend({ client, id }: { client: TwinClient; id: string }) {
  const [data, setData] = useState<Readings['readings'] | null>(null);
  useEffect(() => {
    let live = true;
    const poll = (): void => {
      client
        .get<Readings>(`/api/assets/${encodeURIComponent(id)}/readings?from=now-6h&step=15m`)
        .then((r) => live && setData(r.readings))
        .catch(() => live && setData(null));
    };
    poll();
    const timer = setInterval(poll, 5000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [client, id]);
  if (data === null) return null;
  const kinds = (Object.keys(LABELS) as (keyof typeof LABELS)[]).filter((k) => (data[k]?.length ?? 0) > 0);
  if (kinds.length === 0) return null;
  return (
    <div className="water-trend" data-testid="water-trend" data-points={kinds.reduce((n, k) => n + (data[k]?.length ?? 0), 0)}>
      {kinds.map((k) => {
        const [label, colour, scale] = LABELS[k];
        return (
          <div key={k}>
            <small>{label}</small>
            <Sparkline values={data[k]!.map((b) => b.last * scale)} colour={colour} label={label} />
          </div>
        );
      })}
    </div>
  );
}
