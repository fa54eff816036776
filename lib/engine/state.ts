// What initEngine chose, kept apart from the selection code so that models can ask for it
// without importing the backends (importing the wasm backend registers it as the default).
export type BackendName = "tensorflow" | "webgpu" | "wasm" | "cpu";

export interface EngineInfo {
  backend: BackendName;
  reason: string; // why this backend was chosen (and why the faster ones were not)
  native: boolean; // the project's native kernels are registered for wasm
  nativeReason: string;
  nativeConvolutions: string; // "oneDNN" or "im2col + OpenBLAS" when native kernels are on, else ""
  threads: number; // threads the chosen compute path uses
  adapter: string; // webgpu: the adapter (vendor/architecture, device, API), else ""
}

let chosen: EngineInfo | undefined;

/** What initEngine chose, or undefined before it has finished. */
export function engineInfo(): EngineInfo | undefined {
  return chosen;
}

export function recordEngineInfo(info: EngineInfo): void {
  chosen = info;
}
