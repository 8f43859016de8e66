import { randomBytes, randomUUID } from 'node:crypto';
import { AppError, conflict, notFound } from '../errors.js';
import type { ApplicationStore } from './application-store.js';
import type { CountStore } from './count-store.js';
import { APP_SCOPE, BoundedMap } from './numbered.js';
import { matches, NO_CONDITIONS, requireIfMatch, Stale, type WriteConditions } from './conditions.js';
import type { Application, NumberedPage } from './types.js';
import { chatEntitiesCreated } from '../observability/chat-metrics.js';
import { decideCas } from '../storage/cas.js';
import { EarlierSends } from './earlier-sends.js';

export type ApplicationView = Application & { chatsCount: number };

/** 192 bits from the CSPRNG, base64url: 32 URL-safe characters, unguessable. */
export const newToken = (): string => randomBytes(24).toString('base64url');

/** Applications: created with a fresh token, found by it; the internal id never leaves the service. */
export class ApplicationService {
  /** token -> application id: immutable once created, so a process may remember it. */
  private readonly ids = new BoundedMap<string, string>(10_000);

  constructor(private readonly store: ApplicationStore, private readonly counts: CountStore,
    private readonly ifMatchRequired = false) {}

  async create(name: string): Promise<ApplicationView> {
    const now = new Date();
    for (let attempt = 0; attempt < 3; attempt++) {
      const app: Application = { token: newToken(), appId: randomUUID(), name, version: 1, createdAt: now, updatedAt: now };
      if (await this.store.insert(app)) {
        chatEntitiesCreated.inc({ entity: 'application' });
        return { ...app, chatsCount: 0 };
      }
    }
    throw new AppError(500, 'internal', 'could not create a unique token');
  }

  /** The internal id of the application with this token, or 404. */
  async resolve(token: string): Promise<string> {
    const cached = this.ids.get(token);
    if (cached) return cached;
    return (await this.find(token)).appId;
  }

  async get(token: string): Promise<ApplicationView> {
    const app = await this.find(token);
    return { ...app, chatsCount: await this.counts.total(app.appId, APP_SCOPE) };
  }

  async list(afterToken: string | null, limit: number): Promise<NumberedPage<ApplicationView>> {
    const page = await this.store.page(afterToken, limit);
    const items = await Promise.all(page.items.map(async (app) =>
      ({ ...app, chatsCount: await this.counts.total(app.appId, APP_SCOPE) })));
    return { items, more: page.more };
  }

  /**
   * Compare-and-set on the version; a lost race re-reads, so with If-Match it becomes a 412 and without it the
   * rename applies on the new version (REQUIRE_IF_MATCH=true: 428 without If-Match).
   */
  async rename(token: string, name: string, cond: WriteConditions = NO_CONDITIONS): Promise<ApplicationView> {
    requireIfMatch(this.ifMatchRequired, cond);
    // A row an earlier attempt wrote is ours (version, name, time), even one that landed after its read-back
    // found the row untouched; an unknown outcome is settled by a SERIAL read that looks for it.
    const sends = new EarlierSends<Application, { version: number; at: Date }>((a, s) =>
      a.name === name && a.updatedAt.getTime() === s.at.getTime(), 'chat_app_rename');
    const renamed = async (app: Application) => ({ ...app, chatsCount: await this.counts.total(app.appId, APP_SCOPE) });
    for (let attempt = 0; attempt < 10; attempt++) {
      const app = await this.find(token);
      if (sends.find(app)) return renamed(app);
      if (cond.ifMatch !== null && !matches(cond.ifMatch, app.version)) throw new Stale(await renamed(app));
      const mine = sends.sent({ version: app.version, at: new Date() });
      const applied = await decideCas(() => this.store.rename(token, name, app.version, mine.at),
        async () => sends.settle(await this.store.find(token, true), mine));
      if (applied) return renamed({ ...app, name, version: app.version + 1, updatedAt: mine.at });
    }
    throw conflict('the application is being changed');
  }

  private async find(token: string): Promise<Application> {
    const app = await this.store.find(token);
    if (!app) throw notFound('no application with this token');
    this.ids.set(token, app.appId);
    return app;
  }
}
