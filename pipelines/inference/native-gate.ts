// The deadline machinery shared by the inference worker and the main thread (engine.ts). onnxruntime-node's
// session.run() and its graph load block the worker's thread in native code: a graph that never returns (an
// endless Loop, a model file on a hung mount) can only be noticed from outside, and the worker can only be
// terminated safely while it runs JavaScript. Terminating it inside a native call does not stop that call, and
// when the call returns into a terminated worker onnxruntime-node aborts the whole process (measured with
// onnxruntime-node 1.30 on Node 20). So the two sides agree through a small shared Int32Array:
//   STATE: JS (the worker runs JavaScript), NATIVE (inside an onnxruntime call), TERMINATING (the main thread
//          took the worker: it must not enter native code again), ABANDONED (the main thread gave up on a native
//          call: the worker exits on its own as soon as that call returns).
//   BUSY:  1 while the worker has work in hand (a cycle, the final pass, the graph load).
//   BEAT:  bumped at every job start and end and every native call start and end: no beat for the deadline
//          while BUSY is a hang.
// The main thread decides with one compare-and-swap (JS -> TERMINATING: terminate now; NATIVE -> ABANDONED:
// leave it, it ends itself), so the worker never enters a native call after it was terminated.

export const STATE = 0;
export const BUSY = 1;
export const BEAT = 2;
export const CONTROL_INTS = 3;

export const JS = 0;
export const NATIVE = 1;
export const TERMINATING = 2;
export const ABANDONED = 3;

export function createControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(CONTROL_INTS * Int32Array.BYTES_PER_ELEMENT));
}

/** The main thread takes the worker: 'terminate' (it runs JavaScript and will not enter onnxruntime again, so
 *  worker.terminate() is safe), 'abandoned' (it is inside onnxruntime: it exits by itself when the call returns;
 *  do not terminate it) or 'gone' (it was already taken). */
export function takeWorker(control: Int32Array): 'terminate' | 'abandoned' | 'gone' {
  const was = Atomics.compareExchange(control, STATE, JS, TERMINATING);
  if (was === JS) return 'terminate';
  if (was === NATIVE && Atomics.compareExchange(control, STATE, NATIVE, ABANDONED) === NATIVE) return 'abandoned';
  // NATIVE changed to JS between the two exchanges: try again (it can only move on to NATIVE or JS).
  if (was === NATIVE) return takeWorker(control);
  return 'gone';
}

/** The worker side: runs an onnxruntime call marked NATIVE. Ends the thread (`exit`: process.exit, which in a
 *  worker ends only the worker) instead of entering the call when the main thread took the worker, and as soon
 *  as the call returns when it was abandoned during the call. */
export function nativeGuard(control: Int32Array, exit: () => never): <T>(call: () => Promise<T>) => Promise<T> {
  return async <T>(call: () => Promise<T>): Promise<T> => {
    if (Atomics.compareExchange(control, STATE, JS, NATIVE) !== JS) exit();
    Atomics.add(control, BEAT, 1);
    try {
      return await call();
    } finally {
      Atomics.add(control, BEAT, 1);
      if (Atomics.compareExchange(control, STATE, NATIVE, JS) !== NATIVE) exit();
    }
  };
}
