import type { MetricSamples } from '../../test/helpers/bot-process.ts';

/**
 * The p-th percentile (0..100) of a Prometheus histogram, interpolated linearly inside the bucket it
 * falls in (as PromQL's histogram_quantile does); NaN when the histogram is empty. `base` is the
 * histogram's name without `_bucket`; `since` is an earlier scrape to subtract (so the result
 * covers only what was observed in between).
 */
export function histogramPercentile(samples: MetricSamples, base: string, p: number, since?: MetricSamples): number {
  const buckets: { le: number; count: number }[] = [];
  for (const [series, value] of samples.series) {
    const match = new RegExp(`^${base}_bucket\\{le="([^"]+)"\\}$`).exec(series);
    if (!match) continue;
    const le = match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]);
    buckets.push({ le, count: value - (since?.get(series) ?? 0) });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = (p / 100) * total;
  let lower = 0;
  let below = 0;
  for (const { le, count } of buckets) {
    if (count >= rank) {
      // Past the last finite bucket nothing is known but its bound.
      if (!Number.isFinite(le)) return lower;
      const inBucket = count - below;
      return inBucket <= 0 ? le : lower + ((le - lower) * (rank - below)) / inBucket;
    }
    lower = le;
    below = count;
  }
  return lower;
}
