/**
 * Long computations on a serving process's main thread (the change guard's
 * comparison, the live map's client sample and simulation) are written as
 * generators that yield every few milliseconds of work: run them to the end at
 * once (CLI, tests), or with the event loop free between slices so DNS
 * answers are never held up behind them.
 */

/** Run a stepped computation to its end synchronously. */
export function runSteps<T>(steps: Generator<void, T>): T {
  for (let r = steps.next(); ; r = steps.next()) if (r.done) return r.value;
}

/** Run a stepped computation, letting the event loop run (I/O, queries) between slices. */
export async function runStepsAsync<T>(steps: Generator<void, T>): Promise<T> {
  for (let r = steps.next(); ; r = steps.next()) {
    if (r.done) return r.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
