import type { Gauge } from 'prom-client';

/**
 * Makes a gauge read its value at scrape time. prom-client calls a metric's `collect` before
 * reporting it; the Metrics gauges are built before the parts that own these values exist, so
 * the hook is attached afterwards instead of through the constructor option.
 */
export function collectOnScrape(gauge: Gauge, read: () => number): void {
  Object.assign(gauge, {
    collect(): void {
      gauge.set(read());
    },
  });
}
