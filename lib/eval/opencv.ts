// OpenCV's wasm build (@techstark/opencv-js), loaded once. Its bundled type
// declarations point at a package that is not installed, so the module is
// typed loosely here and wrapped by small typed helpers.
/* eslint-disable @typescript-eslint/no-explicit-any */
export type OpenCv = any;

let loading: Promise<OpenCv> | undefined;

/** Resolve once the wasm runtime is ready. */
export function loadOpenCv(): Promise<OpenCv> {
  if (!loading) {
    loading = (async () => {
      // The Emscripten loader installs process-wide uncaughtException/unhandledRejection
      // handlers that rethrow with the whole minified source as context; drop them so
      // errors reach our own handlers intact.
      const before = {
        uncaughtException: process.listeners("uncaughtException"),
        unhandledRejection: process.listeners("unhandledRejection"),
      };
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const mod: OpenCv = require("@techstark/opencv-js");
      for (const l of process.listeners("uncaughtException")) {
        if (!before.uncaughtException.includes(l)) process.removeListener("uncaughtException", l);
      }
      for (const l of process.listeners("unhandledRejection")) {
        if (!before.unhandledRejection.includes(l)) process.removeListener("unhandledRejection", l);
      }
      // Never `await` the Emscripten module itself: it is a thenable that resolves to
      // itself, so awaiting it loops forever. Wait for the runtime callback instead.
      const cv: OpenCv = mod instanceof Promise ? await mod : mod;
      if (!cv.Mat) {
        await new Promise<void>((resolve) => {
          cv.onRuntimeInitialized = () => resolve();
        });
      }
      // Drop the self-resolving `then` so the module can travel through promises.
      delete cv.then;
      return cv;
    })();
  }
  return loading;
}
