import { randomUUID } from 'node:crypto';

/** Distinguishes two runs of the same pod and pid (a restarted container reuses pid 1). */
const RUN = randomUUID().slice(0, 8);

/**
 * The one name a holder of a lease, lock or slot goes by: `<pod>/<pid>/<run>/<role>`. Pod and pid tell an operator
 * where to look; `role` tells apart the holders inside one process (e.g. `writer-1`, `archiver`, `migrator`).
 */
export function processIdentity(podName: string, role: string): string {
  return `${podName}/${process.pid}/${RUN}/${role}`;
}
