/**
 * What a long-lived object asks for the time, in ms since the epoch (Date.now in production; tests move it). A
 * single pass over data takes its `now: number` instead, so every decision of the pass sees one instant.
 */
export type Clock = () => number;
