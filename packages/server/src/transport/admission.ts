/**
 * Admission control: how many requests with a body the collector reads, parses and ingests at
 * once. A request is admitted or refused from its headers alone, before any of its body is
 * read, so a burst costs the collector what it admitted, not what was sent; a refusal is
 * answered at once with `Retry-After`. Counting only the records queued for commit (the
 * pipeline's `overloaded`) would let every body of a burst be read and parsed first.
 */
import type { CollectorLimits } from '../context.js';

export type AdmissionLimits = Pick<
  CollectorLimits,
  | 'bodyLimit'
  | 'maxBodiesInFlight'
  | 'maxBodyBytesInFlight'
  | 'maxBodiesPerConnection'
  | 'maxBodiesPerClient'
>;

export type AdmissionRefusal = 'overloaded' | 'rate_limited';

/** What is admitted now, and how many were refused since start (served by /healthz). */
export interface AdmissionLoad {
  readonly bodies: number;
  readonly bytes: number;
  readonly refused: number;
}

export class Admission {
  private bodies = 0;
  private bytes = 0;
  private refused = 0;
  private readonly perClient = new Map<string, number>();
  private readonly perConnection = new WeakMap<object, number>();

  constructor(private readonly limits: AdmissionLimits) {}

  /**
   * Takes a place for a body of `declared` bytes (undefined: length unknown, counted as the
   * body limit) from `client` on `connection`; answers the function that gives it back (call
   * it once, when the response is done or the connection gone) or why it is refused.
   */
  admit(
    client: string,
    connection: object,
    declared: number | undefined,
  ): (() => void) | AdmissionRefusal {
    const l = this.limits;
    const bytes = Math.min(declared ?? l.bodyLimit, l.bodyLimit);
    const onConnection = this.perConnection.get(connection) ?? 0;
    const fromClient = this.perClient.get(client) ?? 0;
    let refusal: AdmissionRefusal | undefined;
    if (onConnection >= l.maxBodiesPerConnection) refusal = 'rate_limited';
    else if (l.maxBodiesPerClient > 0 && fromClient >= l.maxBodiesPerClient) {
      refusal = 'rate_limited';
    } else if (
      this.bodies >= l.maxBodiesInFlight ||
      // One body larger than the budget still passes alone, or it could never be sent.
      (this.bodies > 0 && this.bytes + bytes > l.maxBodyBytesInFlight)
    ) {
      refusal = 'overloaded';
    }
    if (refusal) {
      this.refused++;
      return refusal;
    }
    this.bodies++;
    this.bytes += bytes;
    this.perConnection.set(connection, onConnection + 1);
    this.perClient.set(client, fromClient + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.bodies--;
      this.bytes -= bytes;
      const c = this.perConnection.get(connection) ?? 1;
      this.perConnection.set(connection, c - 1);
      const n = this.perClient.get(client) ?? 1;
      if (n <= 1) this.perClient.delete(client);
      else this.perClient.set(client, n - 1);
    };
  }

  load(): AdmissionLoad {
    return { bodies: this.bodies, bytes: this.bytes, refused: this.refused };
  }
}
