import { ProvenantError } from '@provenant/core/errors';

export type LogErrorCode =
  | 'log_inconsistent' // stored entries disagree with the log's own signed checkpoint
  | 'log_key_mismatch' // the stored checkpoint was not signed by this log's key
  | 'log_behind_witness' // a published checkpoint shows a history the stored tree does not extend
  | 'tree_size_out_of_range'
  | 'leaf_index_out_of_range'
  | 'log_closed'
  | 'log_not_sequencer' // this log instance only enqueues; another one sequences
  | 'promise_malformed';

export class LogError extends ProvenantError {
  declare readonly code: LogErrorCode;
  constructor(code: LogErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}
