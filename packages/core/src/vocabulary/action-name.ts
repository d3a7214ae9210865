/**
 * What an action name may be where a decision is asked for (`POST /v1/decisions`) and in an
 * action catalog (`actions.json`): 1-128 letters, digits and `_ . : -`, e.g.
 * `github.delete_repo`. (A stored record's `action.name` is any text up to 256 characters: the
 * ledger keeps what producers did; only decided actions need a name policies can speak of.)
 */
export const ACTION_NAME_MAX = 128;
export const ACTION_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Whether `name` is an action name the decision point and the catalog take. */
export function isActionName(name: unknown): name is string {
  return typeof name === 'string' && ACTION_NAME_PATTERN.test(name);
}
