import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compactDay, isoDay, isTimeZone, lastDays, secondsLeftInDay } from '../../src/counters/days.ts';

describe('days in the operator time zone', () => {
  it('tells IANA time zone names from anything else', () => {
    assert.equal(isTimeZone('Pacific/Auckland'), true);
    assert.equal(isTimeZone('UTC'), true);
    assert.equal(isTimeZone('Mars/Olympus'), false);
    assert.equal(isTimeZone(''), false);
  });

  it('names the calendar day where the operator is', () => {
    const at = new Date('2026-03-01T11:30:00Z');
    assert.equal(isoDay(at, 'UTC'), '2026-03-01');
    assert.equal(isoDay(at, 'Pacific/Auckland'), '2026-03-02');
    assert.equal(isoDay(at, 'America/Los_Angeles'), '2026-03-01');
    assert.equal(compactDay('2026-03-02'), '20260302');
  });

  it('lists the last days oldest first, across a month end', () => {
    assert.deepEqual(lastDays(new Date('2026-03-01T11:30:00Z'), 'Pacific/Auckland', 3), ['2026-02-28', '2026-03-01', '2026-03-02']);
    assert.deepEqual(lastDays(new Date('2026-03-01T11:30:00Z'), 'UTC', 1), ['2026-03-01']);
    assert.deepEqual(lastDays(new Date('2026-03-01T11:30:00Z'), 'UTC', 0), []);
  });

  it("counts the seconds left in the operator's day", () => {
    assert.equal(secondsLeftInDay(new Date('2026-01-01T23:00:00Z'), 'UTC'), 3600);
    // A whole day at midnight (hour 00, not 24).
    assert.equal(secondsLeftInDay(new Date('2026-01-02T00:00:00Z'), 'UTC'), 86_400);
    // Berlin is UTC+1 in January: 22:30:15 UTC is 23:30:15 there.
    assert.equal(secondsLeftInDay(new Date('2026-01-01T22:30:15Z'), 'Europe/Berlin'), 1785);
    // Auckland is UTC+13 in January: one second before its midnight.
    assert.equal(secondsLeftInDay(new Date('2026-01-01T10:59:59Z'), 'Pacific/Auckland'), 1);
  });
});
