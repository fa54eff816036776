// The frozen teacher of a dense student (the workbench's dense DesDis variant; lib/losses/
// dense-distillation.ts): a trained SamFeatNet checkpoint, recorded in the student's config by file,
// sha256, width and row, and loaded once per run. A run is bound to the exact weights it started
// with: a teacher file changed since then is refused rather than silently mixed into a resumed run.
import * as fs from "node:fs";
import * as path from "node:path";
import { inspectCheckpoint, loadCheckpoint } from "../models/checkpoint";
import { SamFeatNet } from "../models/samfeat";
import { fileSha256 } from "../util/file-hash";
import { PROJECT_ROOT, projectRelative } from "../util/project";
import { DenseDistillConfig, ROW_NAMES, RowName } from "./config";

/**
 * What a dense student's config records of its teacher checkpoint `file`. Checks, without building
 * the network, that the file exists and is a complete SamFeatNet checkpoint; throws an error whose
 * message starts with the file name otherwise.
 */
export function readDistillTeacher(file: string): DenseDistillConfig["teacher"] {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new Error(`${file}: file not found`);
  const { options, metadata } = inspectCheckpoint(file);
  const row = metadata.row === undefined ? null : metadata.row;
  if (row !== null && !ROW_NAMES.includes(row as RowName)) throw new Error(`${file}: the checkpoint's row '${row}' is not one of ${ROW_NAMES.join(", ")}`);
  return { file: projectRelative(file), sha256: fileSha256(file), width: options.width, row: row as RowName | null };
}

/** Load the teacher a config names (file relative to the project root), checking it is the recorded one. */
export function loadDistillTeacher(distill: DenseDistillConfig): SamFeatNet {
  const file = path.resolve(PROJECT_ROOT, distill.teacher.file);
  if (!fs.existsSync(file)) throw new Error(`${distill.teacher.file}: the dense student's teacher checkpoint is missing`);
  const sha = fileSha256(file);
  if (sha !== distill.teacher.sha256) {
    throw new Error(`${distill.teacher.file}: the teacher's weights changed since the run was configured (sha256 ${sha.slice(0, 8)}..., the config records ${distill.teacher.sha256.slice(0, 8)}...)`);
  }
  const net = loadCheckpoint(file);
  if (net.options.width !== distill.teacher.width) {
    net.dispose();
    throw new Error(`${distill.teacher.file}: a teacher of width ${net.options.width}, the config records ${distill.teacher.width}`);
  }
  return net;
}
