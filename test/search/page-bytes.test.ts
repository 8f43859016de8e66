import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SEARCH_PAGE_BYTES } from '../../src/search/message-searcher.js';
import { docsOf, dropIndex, freshIndex, testSearch, uniqueToken } from './support.js';

describe('search pages bounded by bytes', () => {
  const search = testSearch();
  const token = uniqueToken();
  const big = (i: number) => `${String(i).padStart(4, '0')} needle ${'x'.repeat(64 * 1024 - 12)}`;

  before(async () => {
    await freshIndex(search);
    for (let first = 1; first <= 100; first += 20) {
      const bodies = Array.from({ length: 20 }, (_, i) => big(first + i));
      await search.indexer.indexMessages(docsOf(token, 1, bodies, first), first + 20 > 100 ? 'wait_for' : undefined);
    }
  });
  after(async () => { await dropIndex(search); });

  it('when 100 matches have 64 KiB bodies, then a page of limit 500 carries at most 4 MiB and next leads to the rest', async () => {
    const first = await search.searcher.searchMessages({ token, chat: 1, q: 'needle', limit: 500 });
    const bytes = first.messages.reduce((n, m) => n + Buffer.byteLength(m.body), 0);
    assert.ok(bytes <= MAX_SEARCH_PAGE_BYTES, `${bytes} bytes in one page`);
    assert.equal(first.messages.length, 64);
    assert.equal(first.next, 64);
    const numbers = first.messages.map((m) => m.number);
    for (let after: number | null = first.next; after !== null;) {
      const page = await search.searcher.searchMessages({ token, chat: 1, q: 'needle', limit: 500, after });
      numbers.push(...page.messages.map((m) => m.number));
      after = page.next;
    }
    assert.deepEqual(numbers, Array.from({ length: 100 }, (_, i) => i + 1));
  });
});
