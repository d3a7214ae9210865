import { PostgresLease } from '@provenant/ledger/postgres';

/**
 * The sequencer lease: which member of a cluster sequences. At most one member holds it at a
 * time. It only decides who should sequence; the storage is what keeps the log from forking (an
 * append built on a stale tree is refused), so a deposed holder that has not noticed yet can only
 * fail its appends.
 */
export interface SequencerLease {
  /** False once the lease is lost (the holder's session ended) or released. */
  readonly held: boolean;
  /** Gives the lease up, so another member can take it at once. */
  release(): Promise<void>;
}

/** Where members contend for the lease. */
export interface SequencerLeases {
  /** Takes the lease if it is free, null when another member holds it; `onLost` is called once if it is lost. */
  tryAcquire(onLost: (reason: string) => void): Promise<SequencerLease | null>;
}

/** The lease of a cluster on one PostgreSQL: a session-level advisory lock (`PostgresLease`). */
export function postgresLeases(url: string, options: { checkMs?: number } = {}): SequencerLeases {
  return {
    tryAcquire: (onLost) =>
      PostgresLease.tryAcquire(url, {
        checkMs: options.checkMs ?? 500,
        connectTimeoutMs: 2000,
        onLost,
      }),
  };
}

/** Leases within one process (tests): `revoke` takes the lease from its holder, as a lost session would. */
export class MemoryLeases implements SequencerLeases {
  private holder: {
    lease: SequencerLease & { lost: boolean };
    onLost: (reason: string) => void;
  } | null = null;

  async tryAcquire(onLost: (reason: string) => void): Promise<SequencerLease | null> {
    if (this.holder && !this.holder.lease.lost) return null;
    const lease = {
      lost: false,
      get held() {
        return !this.lost;
      },
      release: async () => {
        lease.lost = true;
        if (this.holder?.lease === lease) this.holder = null;
      },
    };
    this.holder = { lease, onLost };
    return lease;
  }

  /** Ends the current holder's lease, calling its `onLost`. */
  revoke(reason = 'revoked'): void {
    const h = this.holder;
    if (!h || h.lease.lost) return;
    h.lease.lost = true;
    this.holder = null;
    h.onLost(reason);
  }
}
