import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../src/errors.js';
import { MessageSearcher } from '../../src/search/message-searcher.js';
import { messagesAlias } from '../../src/search/index-schema.js';
import { TEST_PREFIX, bodiesMatching, docsOf, dropIndex, freshIndex, testSearch, uniqueToken } from './support.js';

const BODIES = [
  'Hello world', 'HELLO AGAIN', 'a shell script', 'help me', 'yell',
  'ÄRGER im Büro', 'über alles', 'Straße', 'STRASSE', 'ΟΔΟΣ', 'οδός', 'Cafe\u0301 au lait',
  'x marks the spot', 'no match here', 'a, b; c!', 'what?!', 'emoji 😀 party',
  'star * here', 'axxb', 'a*b', 'q?r', 'back\\slash', 'ends with\\', 'two\\\\back',
];

describe('search: exact, case-insensitive substring within one chat', () => {
  const search = testSearch();
  const token = uniqueToken();
  const other = uniqueToken();
  const find = (q: string, chat = 1, tok = token) => bodiesMatching(search, tok, chat, q);

  before(async () => {
    await freshIndex(search);
    await search.indexer.indexMessages(docsOf(token, 1, BODIES));
    // The same bodies in another chat of the token and in another token: never returned for (token, 1).
    await search.indexer.indexMessages(docsOf(token, 2, ['Hello from chat 2', 'yell']));
    await search.indexer.indexMessages(docsOf(token, 5, ['a \\ backslash', 'a \uE05C private-use']));
    await search.indexer.indexMessages(docsOf(other, 1, ['Hello from another application']), 'wait_for');
  });
  after(async () => { await dropIndex(search); });

  it('when searching "ell", then Hello, HELLO, shell and yell match and "help" does not', async () => {
    assert.deepEqual(await find('ell'), ['Hello world', 'HELLO AGAIN', 'a shell script', 'yell']);
    assert.deepEqual(await find('ELL'), await find('ell'));
  });

  it('when the case differs outside ASCII, then it still matches ("ärger" finds "ÄRGER", "ÜBER" finds "über")', async () => {
    assert.deepEqual(await find('ärger'), ['ÄRGER im Büro']);
    assert.deepEqual(await find('ÄRGER'), ['ÄRGER im Büro']);
    assert.deepEqual(await find('ÜBER'), ['über alles']);
    assert.deepEqual(await find('bürO'), ['ÄRGER im Büro']);
  });

  it('when the query is "ß" or "ss", then Unicode case folding applies: ß and ss are the same (documented)', async () => {
    assert.deepEqual(await find('straße'), ['Straße', 'STRASSE']);
    assert.deepEqual(await find('ß'), ['Straße', 'STRASSE']);
    assert.deepEqual(await find('STRASSE'), ['Straße', 'STRASSE']);
  });

  it('when Greek has a final sigma, then σ and ς are the same letter, and accents still count', async () => {
    assert.deepEqual(await find('οδοσ'), ['ΟΔΟΣ']);
    assert.deepEqual(await find('ΟΔΌΣ'), ['οδός']);
  });

  it('when text is composed in one form and searched in the other, then NFC makes them equal', async () => {
    assert.deepEqual(await find('CAFÉ'), ['Cafe\u0301 au lait']);
    assert.deepEqual(await find('cafe\u0301'), ['Cafe\u0301 au lait']);
  });

  it('when the query is 1 or 2 characters, then only bodies containing them match (no n-gram false positives)', async () => {
    assert.deepEqual(await find('x'), ['x marks the spot', 'axxb']);
    assert.deepEqual(await find('xx'), ['axxb']);
    assert.deepEqual(await find('😀'), ['emoji 😀 party']);
    assert.deepEqual(await find('zq'), []);
  });

  it('when the query has punctuation and spaces, then they are part of the substring', async () => {
    assert.deepEqual(await find(', b; c'), ['a, b; c!']);
    assert.deepEqual(await find('?!'), ['what?!']);
    assert.deepEqual(await find('o w'), ['Hello world']);
    assert.deepEqual(await find(' '), BODIES.filter((b) => b.includes(' ')));
  });

  it('when the query holds wildcard metacharacters, then they match literally', async () => {
    assert.deepEqual(await find('*'), ['star * here', 'a*b']);
    assert.deepEqual(await find('a*b'), ['a*b']);
    assert.deepEqual(await find('?'), ['what?!', 'q?r']);
    assert.deepEqual(await find('q?r'), ['q?r']);
    assert.deepEqual(await find('\\'), ['back\\slash', 'ends with\\', 'two\\\\back']);
    assert.deepEqual(await find('\\s'), ['back\\slash']);
    assert.deepEqual(await find('with\\'), ['ends with\\']);
    assert.deepEqual(await find('\\\\'), ['two\\\\back']);
    assert.deepEqual(await find('.*'), []);
  });

  it('when a body holds U+E05C, then it counts as a backslash (the documented stand-in)', async () => {
    assert.deepEqual(await find('\\', 5), ['a \\ backslash', 'a \uE05C private-use']);
    assert.deepEqual(await find('\uE05C', 5), ['a \\ backslash', 'a \uE05C private-use']);
    assert.deepEqual(await find('a \\ b', 5), ['a \\ backslash']);
  });

  it('when a pattern is too complex for OpenSearch (a longer limit configured in code), then 400 invalid_query, not 500', async () => {
    const lenient = new MessageSearcher(search.client, messagesAlias(TEST_PREFIX), 2000);
    await assert.rejects(lenient.searchMessages({ token, chat: 1, q: 'a'.repeat(1000), limit: 10 }),
      (e: unknown) => e instanceof AppError && e.status === 400 && e.code === 'invalid_query' && /too complex/.test(e.message));
  });

  it('when nothing matches, then the page is empty with no next', async () => {
    assert.deepEqual(await search.searcher.searchMessages({ token, chat: 1, q: 'nothing like this', limit: 10 }),
      { messages: [], next: null });
  });

  it('when other chats and applications hold matches, then only the asked chat of the asked token answers', async () => {
    assert.deepEqual(await find('hello', 1), ['Hello world', 'HELLO AGAIN']);
    assert.deepEqual(await find('hello', 2), ['Hello from chat 2']);
    assert.deepEqual(await find('hello', 1, other), ['Hello from another application']);
    assert.deepEqual(await find('hello', 3), []);
    assert.deepEqual(await find('hello', 1, uniqueToken()), []);
  });

  it('when q is empty, too long (also once folded) or not valid Unicode, then 400 invalid_query', async () => {
    const bad = async (q: unknown) => assert.rejects(search.searcher.searchMessages({ token, chat: 1, q, limit: 10 }),
      (e: unknown) => e instanceof AppError && e.status === 400 && e.code === 'invalid_query');
    await bad('');
    await bad(undefined);
    await bad('a'.repeat(257));
    await bad('\uD800x');
    // The limit counts characters after folding: 256 ß are 512 characters once folded.
    await bad('ß'.repeat(256));
    // Characters, not UTF-16 units: 256 emoji are fine, and so is the most repetitive pattern of the full length.
    for (const q of ['😀'.repeat(256), 'a'.repeat(256), 'ß'.repeat(128), 'ﬃ'.repeat(85)]) {
      assert.deepEqual((await search.searcher.searchMessages({ token, chat: 1, q, limit: 10 })).messages, []);
    }
  });
});
