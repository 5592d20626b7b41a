/**
 * What the query path knows about health: one flag per PoP (in the snapshot's
 * PoP order) and an epoch that changes whenever any flag does. Produced in one
 * place (the monitor, in the primary process) and only read by the query path.
 */
export interface HealthView {
  /** Changes on every state change; answer caches are keyed by it. */
  epoch: number;
  /** 1 = the PoP may be served (up and not drained), 0 = keep it out of answers. */
  serving: Uint8Array;
}

/** Every PoP serving: the view before the monitor has said anything. */
export function allServing(popCount: number, epoch = 0): HealthView {
  return { epoch, serving: new Uint8Array(popCount).fill(1) };
}
