// Rich output from library code running inside a tslab kernel.
//
// tslab's public `display` object sends one MIME type per output
// (`display.raw(type, data)` builds `{data: {[type]: data}}`). A figure that has
// to render in JupyterLab, in an untrusted notebook and in a static viewer needs
// ONE display_data message carrying several representations, so we call the
// function that `display.raw` itself calls: `lastWriteDisplayData` in
// tslab/dist/jupyter, which publishes a display_data message with whatever
// bundle it is given. tslab sets it at the start of every cell execution.

/** MIME type -> representation (strings, base64 for binary, objects for JSON types). */
export type MimeBundle = Record<string, unknown>;

interface DisplayData {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient: Record<string, unknown>;
}

type WriteDisplayData = (data: DisplayData, update: boolean) => void;

const TSLAB_JUPYTER = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

/**
 * The kernel's display writer, or undefined outside a kernel. We only look in
 * the require cache, for whichever tslab installation started the kernel:
 * loading tslab/dist/jupyter ourselves would pull in zeromq for nothing under
 * plain node.
 */
function kernelWriter(): WriteDisplayData | undefined {
  for (const [file, mod] of Object.entries(require.cache)) {
    if (!TSLAB_JUPYTER.test(file)) continue;
    const writer = (mod?.exports as { lastWriteDisplayData?: WriteDisplayData | null } | undefined)?.lastWriteDisplayData;
    if (writer) return writer;
  }
  return undefined;
}

/** True when this code runs inside a tslab kernel cell. */
export function inNotebook(): boolean {
  return kernelWriter() !== undefined;
}

export interface DisplayOptions {
  /** Name this output, so a later call with `update` can replace it (Jupyter's display_id). */
  displayId?: string;
  /** Replace the output named `displayId` (update_display_data) instead of adding one. */
  update?: boolean;
}

/**
 * Publish one display_data output with every representation in `bundle`; the
 * front end picks the richest one it can render. Binary values (Uint8Array)
 * are base64-encoded as the Jupyter protocol requires.
 */
export function displayBundle(bundle: MimeBundle, metadata: Record<string, unknown> = {}, opts: DisplayOptions = {}): void {
  const write = kernelWriter();
  if (!write) throw new Error("lib/notebook/kernel: displayBundle called outside a tslab kernel");
  const data: MimeBundle = {};
  for (const [type, value] of Object.entries(bundle)) {
    data[type] = value instanceof Uint8Array ? Buffer.from(value).toString("base64") : value;
  }
  if (opts.update && !opts.displayId) throw new Error("lib/notebook/kernel: an update needs the displayId of the output it replaces");
  write({ data, metadata, transient: opts.displayId ? { display_id: opts.displayId } : {} }, opts.update ?? false);
}
