// A backward pass that frees memory as it goes.
//
// tfjs-core's Engine.gradients keeps every tensor saved for the backward pass, and every
// intermediate gradient, until the whole backward pass has ended, so a training step peaks at
// "all activations + all their gradients". PyTorch frees a node's saved tensors and its output
// gradients as soon as the node has been differentiated, peaking nearer "all activations". This
// module installs the same walk as tfjs-core (same tape, same order, same gradient functions, so
// the same numbers) with that freeing added, on whichever backend runs.
import * as tf from "@tensorflow/tfjs";

/** The parts of tfjs-core's tape node this walk reads (tfjs-core/src/tape.ts). */
interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

/** The engine internals Engine.gradients uses; private in tfjs-core's typings, stable since tfjs 1.x. */
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
  gradients: GradientsFn;
}

type GradientsFn = (
  f: () => tf.Tensor,
  xs: tf.Tensor[],
  dy?: tf.Tensor,
  allowNoGradients?: boolean,
) => { value: tf.Tensor; grads: tf.Tensor[] };

let installed = false;

/**
 * Makes tf.grads / tf.variableGrads / optimisers free each node's saved tensors and output
 * gradients once the node is differentiated. Idempotent; `uninstallEagerBackward` restores
 * tfjs-core's own pass (the tests compare the two).
 */
export function installEagerBackward(): void {
  if (installed) return;
  installed = true;
  const engine = tf.engine() as unknown as EngineInternals;
  // An own property over the prototype's method.
  engine.gradients = (f, xs, dy, allowNoGradients = false) => eagerGradients(engine, f, xs, dy, allowNoGradients);
}

export function uninstallEagerBackward(): void {
  if (!installed) return;
  // Removing the own property uncovers the prototype's method.
  delete (tf.engine() as unknown as Partial<EngineInternals>).gradients;
  installed = false;
}

function eagerGradients(
  engine: EngineInternals,
  f: () => tf.Tensor,
  xs: tf.Tensor[],
  dy: tf.Tensor | undefined,
  allowNoGradients: boolean,
): { value: tf.Tensor; grads: tf.Tensor[] } {
  if (xs.length === 0) throw new Error("gradients() received an empty list of xs.");
  if (dy != null && dy.dtype !== "float32") throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
  const y = engine.scopedRun(
    () => engine.startTape(),
    () => engine.endTape(),
    () => engine.tidy("forward", f),
  );
  if (!(y instanceof tf.Tensor)) throw new Error("The result y returned by f() must be a tensor.");
  const tape = nodesFromXsToY(engine.state.activeTape ?? [], xs, y);
  if (!allowNoGradients && tape.length === 0) {
    throw new Error("Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.");
  }
  // Nested gradients (higher order) need the saved tensors after this pass: free only at the outermost.
  const free = engine.state.gradientDepth === 0;
  return engine.tidy("backward", () => {
    const gradOf = new Map<number, tf.Tensor>([[y.id, dy ?? tf.onesLike(y)]]);
    backpropagate(engine, tape, gradOf, free, dy);
    const grads = xs.map((x) => gradOf.get(x.id)!);
    if (free) {
      for (const node of engine.state.activeTape ?? []) for (const t of node.saved ?? []) t.dispose();
      engine.state.activeTape = null;
    }
    return { value: y, grads };
  });
}

/**
 * Walks `tape` backwards accumulating gradients into `gradOf` (tensor id -> dL/dtensor). Each node
 * runs in its own scope, so whatever its gradient function makes besides the input gradients
 * (e.g. an activation's derivative shared by several inputs) is freed with the node. With `free`,
 * its saved tensors and consumed output gradients go too, unless gradOf still holds them or it
 * is `callerDy` (the caller's tensor, not ours to free).
 */
function backpropagate(
  engine: EngineInternals,
  tape: TapeNode[],
  gradOf: Map<number, tf.Tensor>,
  free: boolean,
  callerDy: tf.Tensor | undefined,
): void {
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.gradient == null) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
    const dys = node.outputs.map((o) => gradOf.get(o.id) ?? null);
    const replaced: tf.Tensor[] = []; // accumulated gradients superseded by a sum, made by earlier nodes
    engine.tidy(node.kernelName, () => {
      const inputGradients = node.gradient!(dys);
      const made: tf.Tensor[] = [];
      for (const name in node.inputs) {
        if (!(name in inputGradients)) {
          throw new Error(`Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGradients)}.`);
        }
        const dx = engine.tidy(name, () => inputGradients[name]());
        const x = node.inputs[name];
        if (dx.dtype !== "float32") {
          throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`);
        }
        if (!tf.util.arraysEqual(dx.shape, x.shape)) {
          throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`);
        }
        const before = gradOf.get(x.id);
        const sum = before === undefined ? dx : tf.add(before, dx);
        if (before !== undefined && !made.includes(before)) replaced.push(before);
        gradOf.set(x.id, sum);
        made.push(sum);
      }
      // Returned, so the scope keeps them; everything else made here is freed now.
      return Object.values(node.inputs).map((x) => gradOf.get(x.id)!);
    });
    for (const t of replaced) if (t !== callerDy) t.dispose();
    if (!free) continue;
    // The node's outputs receive no more gradient: their producers come earlier on the tape.
    const consumed: tf.Tensor[] = [...(node.saved ?? [])];
    for (const o of node.outputs) {
      const g = gradOf.get(o.id);
      if (g !== undefined) consumed.push(g);
      gradOf.delete(o.id);
    }
    // A gradient function may hand back one of its dys or saved tensors as an input's gradient.
    const live = new Set(gradOf.values());
    for (const t of consumed) if (t !== callerDy && !live.has(t)) t.dispose();
  }
}

/**
 * The nodes of `tape` on a path from some x in `xs` to `y`, in tape order, each with its inputs
 * pruned to those that depend on an x (what tfjs-core's getFilteredNodesXToY computes).
 */
function nodesFromXsToY(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      nodesFromX.add(node.id);
      for (const o of node.outputs) fromX.add(o.id);
    }
  }
  const toY = new Set([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((o) => toY.has(o.id))) {
      nodesToY.add(node.id);
      for (const t of Object.values(node.inputs)) toY.add(t.id);
    }
  }
  return tape
    .filter((n) => nodesFromX.has(n.id) && nodesToY.has(n.id))
    .map((n) => ({
      ...n,
      inputs: Object.fromEntries(Object.entries(n.inputs).filter(([, t]) => fromX.has(t.id))),
    }));
}
