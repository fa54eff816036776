// Train a DesDis teacher or distil a student (see lib/desdis/README.md):
//   npm run distill -- --teacher FILE|none --student equal|light [--width D] [flags]
// The run folder is <out>/<teacher|student>-...-<config hash>, so the same flags find the same run:
// a finished run is reported, not retrained; an unfinished one continues with --resume. Ctrl-C saves
// a checkpoint and exits; a NaN stops with a message naming the loss term.
import * as fs from "node:fs";
import * as path from "node:path";
import { DatasetError } from "../lib/data/errors";
import { ConfigError, DISTILL_DEFAULTS, distillRunName, REGULARIZERS, resolveDistillConfig, STUDENT_KINDS, TRIPLET_LOSSES } from "../lib/desdis/config";
import { DISTILL_FILES, distill } from "../lib/desdis/distill";
import { loadPatchNetwork } from "../lib/desdis/load-network";
import { PatchPairSchedule } from "../lib/desdis/patch-pairs";
import { ImageFolderError, prepareDistillData } from "../lib/desdis/prepare";
import { initEngine } from "../lib/engine/index";
import { choiceFlag, existingDir, existingFile, integerFlag, outputDir, parseCommandLine, positiveFlag, required, runMain, stopOnInterrupt, UsageError } from "../lib/util/cli";
import { projectPath, projectRelative } from "../lib/util/project";

const USAGE = `usage: npm run distill -- --teacher FILE|none --student ${STUDENT_KINDS.join("|")} [flags]
  --teacher FILE|none    the frozen teacher (a patch checkpoint, e.g. a teacher run's final.safetensors, or
                         data/desdis-weights/desdis-<d>.safetensors); none trains a teacher with its triplet loss alone
  --student equal|light  equal: the teacher's architecture (none: the HardNet-size L2-Net); light: DesDis of width D
  --width D              channels of the light network's first convolution (default ${DISTILL_DEFAULTS.width})
  --loss L               triplet loss ${TRIPLET_LOSSES.join("|")} (default: the teacher's, else ${DISTILL_DEFAULTS.triplet})
  --reg R                teacher-student regulariser ${REGULARIZERS.join("|")} (default ${DISTILL_DEFAULTS.regularizer}; students only)
  --lambda L             weight of the regulariser (default ${DISTILL_DEFAULTS.lambda}; students only)
  --steps N              optimisation steps (default ${DISTILL_DEFAULTS.steps})
  --batch B              matching pairs per step (default ${DISTILL_DEFAULTS.batch})
  --pairs-per-image K    pairs cut from each image of a step, dividing B (default 8)
  --seed S               seed of the weights and of every batch (default ${DISTILL_DEFAULTS.seed})
  --lr LR                Adam learning rate, decayed linearly to 0 (default ${DISTILL_DEFAULTS.lr})
  --images DIR           training images (default ${DISTILL_DEFAULTS.images}; BSDS500 layout: val/ is held back)
  --validate-every N     held-out FPR95 and mAPs every N steps (default ${DISTILL_DEFAULTS.validateEvery})
  --checkpoint-every N   write last.safetensors every N steps (default: the validation interval)
  --out DIR              folder of run folders (default outputs/desdis)
  --cache DIR            label cache and held-out patch set (default data/cache: DIR/labels, DIR/desdis)
  --resume               continue the unfinished run with these flags from its last checkpoint
  --quiet                no progress bar`;

const OPTIONS = {
  teacher: { type: "string" },
  student: { type: "string" },
  width: { type: "string" },
  loss: { type: "string" },
  reg: { type: "string" },
  lambda: { type: "string" },
  steps: { type: "string" },
  batch: { type: "string" },
  "pairs-per-image": { type: "string" },
  seed: { type: "string" },
  lr: { type: "string" },
  images: { type: "string" },
  "validate-every": { type: "string" },
  "checkpoint-every": { type: "string" },
  out: { type: "string" },
  cache: { type: "string" },
  resume: { type: "boolean" },
  quiet: { type: "boolean" },
} as const;

async function main(): Promise<number> {
  const v = parseCommandLine(process.argv.slice(2), { usage: USAGE, options: OPTIONS });
  const teacherFlag = required(v.teacher, "--teacher", "a patch checkpoint file, or none to train a teacher");
  const kind = choiceFlag(required(v.student, "--student", STUDENT_KINDS.join(", ")), "--student", STUDENT_KINDS)!;
  const teacherFile = teacherFlag === "none" ? undefined : existingFile(teacherFlag, "--teacher");
  const images = v.images === undefined ? undefined : projectRelative(existingDir(v.images, "--images"));
  const out = path.resolve(outputDir(v.out ?? projectPath("outputs", "desdis"), "--out"));
  const common = {
    kind,
    width: integerFlag(v.width, "--width"),
    triplet: choiceFlag(v.loss, "--loss", TRIPLET_LOSSES),
    regularizer: choiceFlag(v.reg, "--reg", REGULARIZERS),
    lambda: positiveFlag(v.lambda, "--lambda", true),
    steps: integerFlag(v.steps, "--steps"),
    batch: integerFlag(v.batch, "--batch", 2),
    pairsPerImage: integerFlag(v["pairs-per-image"], "--pairs-per-image"),
    seed: integerFlag(v.seed, "--seed", 0),
    lr: positiveFlag(v.lr, "--lr"),
    images,
    validateEvery: integerFlag(v["validate-every"], "--validate-every"),
    checkpointEvery: integerFlag(v["checkpoint-every"], "--checkpoint-every"),
  };
  const batch = common.batch ?? DISTILL_DEFAULTS.batch;
  if (common.pairsPerImage !== undefined && batch % common.pairsPerImage !== 0) {
    throw new UsageError(`--pairs-per-image ${common.pairsPerImage}: must divide the batch, ${batch}`);
  }
  if (common.pairsPerImage === undefined && batch % 8 !== 0) throw new UsageError(`--batch ${batch}: must be a multiple of 8 (the default --pairs-per-image)`);

  const quiet = v.quiet === true;
  await initEngine({ quiet });
  let teacher;
  if (teacherFile !== undefined) {
    try {
      teacher = loadPatchNetwork(teacherFile);
    } catch (e) {
      throw new UsageError(`--teacher ${(e as Error).message}`);
    }
  }
  let config;
  try {
    config = resolveDistillConfig({
      ...common,
      teacher: teacher && { file: projectRelative(teacherFile!), sha256: teacher.sha256, architecture: teacher.net.architecture, width: teacher.net.width },
      teacherLoss: teacher?.loss,
    });
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
  const dir = path.join(out, distillRunName(config));
  const shown = path.relative(process.cwd(), dir);
  if (fs.existsSync(path.join(dir, DISTILL_FILES.final))) {
    console.log(`run ${shown} is finished (${DISTILL_FILES.final}); nothing to do`);
    teacher?.net.dispose();
    return 0;
  }
  if (fs.existsSync(path.join(dir, DISTILL_FILES.config)) && !v.resume) {
    throw new UsageError(`${shown}: an unfinished run with these flags exists; add --resume to continue it`);
  }

  const cacheRoot = path.resolve(v.cache ?? projectPath("data", "cache"));
  let data;
  try {
    data = await prepareDistillData(config, cacheRoot, { quiet });
  } catch (e) {
    if (e instanceof ImageFolderError) throw new UsageError(`--images ${e.message}`);
    throw e;
  }
  if (!quiet) {
    console.log(`images: ${data.sources.length} for training (${data.rule}); held-out patches from ${config.heldOut.roots.join(", ")}`);
    console.log(`held-out set: ${data.heldOut.sequence.length} patches, ${data.heldOut.labels.length} pairs (${path.relative(process.cwd(), data.heldOutFile)}${data.heldOutBuilt ? ", built now" : ""})`);
  }

  const shouldStop = stopOnInterrupt();
  const t0 = performance.now();
  let result;
  try {
    result = await distill(config, dir, { schedule: new PatchPairSchedule(data.sources, config.data, config.seed), heldOut: data.heldOut, teacher: teacher?.net }, { resume: v.resume === true, quiet, shouldStop });
  } finally {
    teacher?.net.dispose();
  }
  if (result.status === "interrupted") {
    console.log(`interrupted at step ${result.steps} of ${config.steps}; checkpoint ${shown}/${DISTILL_FILES.last}; continue with the same flags and --resume`);
    return 0;
  }
  const val = result.lastValidation;
  const minutes = (performance.now() - t0) / 60000;
  console.log(
    `run ${shown}: ${config.steps} steps in ${minutes.toFixed(1)} min (${result.profile.step.toFixed(0)} ms per step)` +
      (val ? `; held-out FPR95 ${(100 * val.fpr95).toFixed(1)}%, mAP verification/matching/retrieval ${[val.verification, val.matching, val.retrieval].map((x) => (100 * x).toFixed(1)).join("/")}%` : "") +
      (result.best ? `; best FPR95 ${(100 * result.best.fpr95).toFixed(1)}% at step ${result.best.step}` : ""),
  );
  console.log(`weights: ${shown}/${DISTILL_FILES.final} (evaluate with: npm run eval -- --dataset data/synthetic-hpatches --method desdis:${shown}/${DISTILL_FILES.final} --detector kaze)`);
  return 0;
}

// A divergence (DivergenceError) is not bad input: runMain prints its one error line and exits 1.
runMain(main, [DatasetError]);
