// Where SAM's two ONNX files are looked for. A module of its own, without onnxruntime, so that code
// asking only whether SAM is present (the workbook) does not load the runtime.
import * as fs from "node:fs";
import * as path from "node:path";
import { projectPath } from "../util/project";

export const SAM_MODEL_DIR = projectPath("data", "models", "sam");
export const SAM_ENCODER_FILE = "sam_image_encoder.onnx";
export const SAM_DECODER_FILE = "sam_prompt_decoder.onnx";

/** True when both ONNX files are in `dir`. */
export function samFilesPresent(dir: string = SAM_MODEL_DIR): boolean {
  return [SAM_ENCODER_FILE, SAM_DECODER_FILE].every((f) => fs.existsSync(path.join(dir, f)));
}
