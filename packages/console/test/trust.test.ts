import { describe, expect, it } from 'vitest';
import {
  ALERT_LABEL,
  alertTarget,
  decisionLabel,
  levelLabel,
  outcomeLabel,
  recordHref,
  recordStatus,
} from '../src/view/trust.ts';
import { browserVerdict } from '../src/view/verdict.ts';

describe('trust labels', () => {
  it('gives each outcome its own tone: success green, denied and error red, pending amber', () => {
    expect(['success', 'denied', 'error', 'pending'].map((s) => outcomeLabel(s).tone)).toEqual([
      'ok',
      'bad',
      'bad',
      'pending',
    ]);
    expect(outcomeLabel(undefined)).toMatchObject({ text: 'no outcome', tone: 'warn' });
  });

  it('shows only verified in green; pooled, asserted and unattributed are warnings', () => {
    expect(levelLabel('verified').tone).toBe('ok');
    for (const l of ['pooled', 'asserted', 'unattributed', 'made-up', undefined]) {
      expect(levelLabel(l).tone, String(l)).toBe('warn');
    }
    expect(levelLabel('asserted').explain).toContain('without a credential');
  });

  it('shows a deny decision red', () => {
    expect(decisionLabel('deny')).toMatchObject({ text: 'denied', tone: 'bad' });
    expect(decisionLabel('allow').tone).toBe('ok');
    expect(decisionLabel(undefined).tone).toBe('warn');
  });

  it('never gives an alert a green status, whatever its outcome says', () => {
    const alert = { type: 'security.alert', outcome: { status: 'success' } };
    expect(recordStatus(alert)).toBe(ALERT_LABEL);
    expect(ALERT_LABEL.tone).toBe('bad');
  });

  it('gives an action its outcome, a decision its answer, other witnesses no status', () => {
    expect(recordStatus({ type: 'tool.called', outcome: { status: 'denied' } })?.tone).toBe('bad');
    expect(recordStatus({ type: 'policy.decision', policy: { decision: 'deny' } })?.text).toBe(
      'denied',
    );
    expect(recordStatus({ type: 'credential.revoked' })?.tone).toBe('warn');
    expect(recordStatus({ type: 'credential.issued' })).toBeNull();
    expect(recordStatus({ type: 'prompt.received' })).toBeNull();
  });
});

describe('alertTarget', () => {
  it('names the record a detection is about', () => {
    const id = '01a23e98-4d52-73f7-90e8-e024ee6480e3';
    expect(
      alertTarget({
        action: {
          name: 'detect.denial_burst',
          resource: `record:${id}`,
          args: { record_type: 'tool.called', detail: 'denied 6 times' },
        },
        outcome: { error: { code: 'denial_burst', message: 'm' } },
      }),
    ).toEqual({
      recordId: id,
      refused: false,
      related: [],
      code: 'denial_burst',
      detail: 'denied 6 times',
      source: null,
      claimedActor: null,
    });
  });

  it('names the source and the claimed actor of input below verified', () => {
    const t = alertTarget({
      action: {
        resource: 'record:x',
        args: { source: 'anonymous:2f67', claimed_actor: 'spiffe://td/agent/w/instance/9' },
      },
    });
    expect(t).toMatchObject({
      source: 'anonymous:2f67',
      claimedActor: 'spiffe://td/agent/w/instance/9',
    });
  });

  it('says when the record was refused at ingest, so there is nothing to open', () => {
    const id = '01a23e98-4d52-73f7-90e8-e024ee6480e3';
    const t = alertTarget({
      action: { resource: `record:${id}`, args: { rejected_record_id: id } },
      outcome: { error: { code: 'attribution_mismatch' } },
    });
    expect(t).toMatchObject({ recordId: id, refused: true, code: 'attribution_mismatch' });
  });

  it('links the record a squatted id was stored as', () => {
    const other = '01a23e98-4d52-73f7-90e8-e024ee6480e4';
    const t = alertTarget({
      action: { resource: 'record:x', args: { reclaimed_record_id: other } },
    });
    expect(t.related).toEqual([{ label: 'stored as', id: other }]);
    expect(
      alertTarget({ action: { args: { reclaimed_record_id: 'not-a-uuid' } } }).related,
    ).toEqual([]);
  });
});

describe('recordHref', () => {
  it("opens an action's provenance and any other record as a record", () => {
    expect(recordHref('a-1', 'tool.called')).toBe('#/provenance/a-1');
    expect(recordHref('a-1', 'policy.decision')).toBe('#/record/a-1');
    expect(recordHref('a-1', undefined)).toBe('#/record/a-1');
    expect(recordHref('a/../x', 'tool.called')).toBe('#/provenance/a%2F..%2Fx');
  });
});

describe('browserVerdict', () => {
  const cp = 'signed by log.test, tree size 11';
  it('speaks of the signature and inclusion only, never of attribution', () => {
    const v = browserVerdict(
      { checkpointOk: true, checkpointDetail: cp, entries: [{ ok: true }, { ok: true }] },
      null,
      false,
    );
    expect(v).toEqual({
      ok: true,
      text: `Checkpoint signature valid (${cp}); 2 of 2 records proven included in the signed log.`,
    });
    expect(v.text).not.toMatch(/verified|attribut/i);
  });

  it('fails when a record is not proven included, the signature fails or the key changed', () => {
    expect(
      browserVerdict(
        { checkpointOk: true, checkpointDetail: cp, entries: [{ ok: true }, { ok: false }] },
        null,
        false,
      ),
    ).toMatchObject({ ok: false, text: expect.stringContaining('only 1 of 2 records') });
    expect(
      browserVerdict(
        { checkpointOk: false, checkpointDetail: 'bad sig', entries: [] },
        null,
        false,
      ),
    ).toEqual({ ok: false, text: 'Signature FAILED: bad sig.' });
    expect(
      browserVerdict({ checkpointOk: true, checkpointDetail: cp, entries: [] }, null, true).ok,
    ).toBe(false);
    expect(browserVerdict(null, 'bad key', false)).toMatchObject({ ok: false });
  });
});
