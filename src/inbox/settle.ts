import type { Config } from '../config.js';

/**
 * Slack kept between the acknowledgement deadline and the settle window besides the clock-skew budget: the time
 * between a create's last check of its clock and its answer, and between a reader's clock read and its slice.
 */
export const SETTLE_MARGIN_MS = 500;

/**
 * How long after its id was issued a create may still be acknowledged. A reader treats ids older than the settle
 * window (by its own clock) as final, so (reader clock − writer clock) + acknowledged latency must stay under the
 * window: with clocks within MAX_CLOCK_SKEW_MS of each other, the deadline is window − skew − margin.
 */
export function ackDeadlineMs(c: Pick<Config, 'DELIVERY_SETTLE_MS' | 'MAX_CLOCK_SKEW_MS'>): number {
  return c.DELIVERY_SETTLE_MS - c.MAX_CLOCK_SKEW_MS - SETTLE_MARGIN_MS;
}
