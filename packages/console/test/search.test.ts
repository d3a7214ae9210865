import { describe, expect, it } from 'vitest';
import {
  EMPTY_SEARCH,
  apiQuery,
  localToRfc3339,
  pageSummary,
  parseSearch,
  rangeFrom,
  rfc3339ToLocal,
  searchQuery,
  turnPage,
  withTerms,
} from '../src/view/search.ts';

describe('search state in the URL', () => {
  it('reads what the URL names and defaults the rest (newest first, 50 a page)', () => {
    const s = parseSearch(
      'q=repo%3Aacme%2F&from=2026-12-01T00%3A00%3A00Z&outcome=denied&actor=user%3Ax&cursor=c1.NQ&page=3',
    );
    expect(s).toEqual({
      q: 'repo:acme/',
      from: '2026-12-01T00:00:00Z',
      to: '',
      filters: { outcome: 'denied', actor: 'user:x' },
      order: 'desc',
      limit: 50,
      cursor: 'c1.NQ',
      page: 3,
    });
    expect(parseSearch('')).toEqual(EMPTY_SEARCH);
  });

  it('writes a state back to the same URL (round trip), defaults left out', () => {
    const query =
      'q=github.*&from=2026-12-01T00%3A00%3A00Z&to=2026-12-02T00%3A00%3A00Z&level=asserted&trace_id=ab&order=asc&limit=10&cursor=c1.NQ&page=2';
    expect(searchQuery(parseSearch(query))).toBe(query);
    expect(searchQuery(EMPTY_SEARCH)).toBe('');
  });

  it('ignores a page number without a cursor, and bad limits', () => {
    expect(parseSearch('page=4').page).toBe(1);
    expect(parseSearch('limit=abc').limit).toBe(50);
    expect(parseSearch('limit=5000').limit).toBe(1000);
    expect(parseSearch('order=sideways').order).toBe('desc');
  });

  it('asks the API for the order always, and the cursor of the page', () => {
    const s = parseSearch('q=%20repo%3Aacme%2F%20&outcome=denied&cursor=c1.NQ&page=2');
    expect(apiQuery(s)).toBe('q=repo%3Aacme%2F&outcome=denied&order=desc&limit=50&cursor=c1.NQ');
  });

  it('starts a new search on the first page, and counts pages both ways', () => {
    const s = parseSearch('q=a&cursor=c1.NQ&page=3');
    expect(withTerms(s, { q: 'b' })).toMatchObject({ q: 'b', cursor: '', page: 1 });
    expect(turnPage(s, 'c1.OQ', 1)).toMatchObject({ cursor: 'c1.OQ', page: 4 });
    expect(turnPage(s, 'c1.MQ', -1)).toMatchObject({ cursor: 'c1.MQ', page: 2 });
    expect(turnPage(parseSearch(''), 'c1.MQ', -1).page).toBe(1);
  });
});

describe('time range', () => {
  const now = Date.parse('2026-12-04T12:00:00Z');
  it('turns a relative range into an absolute from', () => {
    expect(rangeFrom('1h', now)).toBe('2026-12-04T11:00:00.000Z');
    expect(rangeFrom('7d', now)).toBe('2026-11-27T12:00:00.000Z');
    expect(rangeFrom('nope', now)).toBeNull();
  });

  it('reads and writes datetime-local fields as UTC', () => {
    expect(localToRfc3339('2026-12-04T10:30')).toBe('2026-12-04T10:30:00Z');
    expect(localToRfc3339('2026-12-04T10:30:15')).toBe('2026-12-04T10:30:15Z');
    expect(localToRfc3339('2026-13-04T10:30')).toBeNull();
    expect(localToRfc3339('yesterday')).toBeNull();
    expect(rfc3339ToLocal('2026-12-04T10:30:00Z')).toBe('2026-12-04T10:30');
    expect(rfc3339ToLocal('2026-12-04T11:30:15+01:00')).toBe('2026-12-04T10:30:15');
    expect(rfc3339ToLocal('')).toBe('');
  });
});

describe('pageSummary', () => {
  it('says which records of how many, and whether the total is an estimate', () => {
    expect(pageSummary(1, 50, 50, { count: 3214, exact: true })).toBe('Records 1–50 of 3,214.');
    expect(pageSummary(3, 50, 14, { count: 114, exact: true })).toBe('Records 101–114 of 114.');
    expect(pageSummary(1, 50, 50, { count: 40000, exact: false })).toBe(
      'Records 1–50 of about 40,000.',
    );
    expect(pageSummary(1, 50, 0, { count: 0, exact: true })).toBe(
      'No records on this page (0 in all).',
    );
    expect(pageSummary(2, 50, 7, undefined)).toBe('Records 51–57.');
  });
});
