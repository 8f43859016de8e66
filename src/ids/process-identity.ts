import { randomUUID } from 'node:crypto';

/**
 * Who this process is, for lock and lease rows: pod, pid and a random suffix (a restarted pod with the same pid
 * is still another holder). One format for every holder this module is used by.
 */
export function processIdentity(podName: string): string {
  return `${podName}/${process.pid}/${randomUUID().slice(0, 8)}`;
}
