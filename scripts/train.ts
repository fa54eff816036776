// Train one row of the SAMFeat ablation with one teacher (see lib/training/config.ts and the README):
//   npm run train -- --config baseline|psrd|psrd-wsc|full --teacher human|classical|sam [flags]
// The run folder is <out>/<row>-<teacher>-w<width>-s<size>-b<batch>-n<steps>-seed<seed>-<config hash>,
// so the same flags find the same run: a finished run is reported, not retrained; an unfinished one
// continues with --resume. Ctrl-C saves a checkpoint and exits; a NaN stops with a message.
// --distill-from FILE trains a dense student of a trained SamFeatNet (the workbench's dense DesDis
// variant, lib/losses/dense-distillation.ts) in dense-student-<row>-...-from-<sha8>-<reg><lambda>-<hash>.
import * as path from "node:path";
import { DatasetError } from "../lib/data/errors";
import { initEngine } from "../lib/engine/index";
import { LOSS_NAMES, LossName } from "../lib/losses/index";
import { REGULARIZER_FORMS } from "../lib/losses/dense-distillation";
import { ConfigOverrides, defaultRunName, DENSE_DISTILL_DEFAULTS, resolveConfig, ROW_NAMES, TEACHER_NAMES, TRAIN_DEFAULTS } from "../lib/training/config";
import { readDistillTeacher } from "../lib/training/dense-student";
import { prepareRunData } from "../lib/training/prepare";
import { SourceError, splitImages } from "../lib/training/sources";
import { RUN_FILES, train } from "../lib/training/trainer";
import { choiceFlag, existingDir, existingFile, integerFlag, parseCommandLine, positiveFlag, required, runMain, stopOnInterrupt, UsageError } from "../lib/util/cli";
import { projectPath, projectRelative, PROJECT_ROOT } from "../lib/util/project";
import * as fs from "node:fs";

const USAGE = `usage: npm run train -- --config ${ROW_NAMES.join("|")} --teacher ${TEACHER_NAMES.join("|")} [flags]
  --steps N              optimisation steps (default ${TRAIN_DEFAULTS.steps})
  --seed S               seed of the weights and of every batch (default ${TRAIN_DEFAULTS.seed})
  --width W              channel multiplier of the network (default ${TRAIN_DEFAULTS.width})
  --size PX              training crop side, a multiple of 8 (default ${TRAIN_DEFAULTS.size})
  --batch B              image pairs per step (default ${TRAIN_DEFAULTS.batch})
  --images DIR           training images (default ${TRAIN_DEFAULTS.images}; BSDS500 layout: val/ is held back)
  --out DIR              folder of run folders (default outputs/runs)
  --cache DIR            teacher and label caches (default data/cache: DIR/teachers, DIR/labels)
  --checkpoint-every N   write last.safetensors every N steps (default: the validation interval)
  --validate-every N     validation loss and MMA every N steps (default ${TRAIN_DEFAULTS.validateEvery})
  --validation-pairs N   held-back pairs used for validation (default ${TRAIN_DEFAULTS.validationPairs})
  --weights T=W,...      loss weights, e.g. dis=0.5,wsc=2 (terms ${LOSS_NAMES.join(", ")}; default 1)
  --wsc release|supcon   the released WSC loss (default) or the intended supervised-contrastive form
  --warp-teacher         warp the teacher targets into warped second views (extension; the release drops them)
  --distill-from FILE    train a dense student of this trained SamFeatNet checkpoint (frozen), e.g. a run's
                         final.safetensors: the row's losses + lambda * the DesDis regulariser on the sampled
                         descriptors (the workbench's extension, in neither paper)
  --reg abs|square|hinge the regulariser's form (default ${DENSE_DISTILL_DEFAULTS.form}; with --distill-from only)
  --lambda L             its weight, >= 0 (default ${DENSE_DISTILL_DEFAULTS.lambda}; with --distill-from only)
  --resume               continue the unfinished run with these flags from its last checkpoint
  --profile              print the step-time breakdown, and the bare network step of npm run bench
                         timed on the same batches between the training steps (slower run)
  --quiet                no progress bar`;

const OPTIONS = {
  config: { type: "string" },
  teacher: { type: "string" },
  steps: { type: "string" },
  seed: { type: "string" },
  width: { type: "string" },
  size: { type: "string" },
  batch: { type: "string" },
  images: { type: "string" },
  out: { type: "string" },
  cache: { type: "string" },
  "checkpoint-every": { type: "string" },
  "validate-every": { type: "string" },
  "validation-pairs": { type: "string" },
  weights: { type: "string" },
  wsc: { type: "string" },
  "warp-teacher": { type: "boolean" },
  "distill-from": { type: "string" },
  reg: { type: "string" },
  lambda: { type: "string" },
  resume: { type: "boolean" },
  profile: { type: "boolean" },
  quiet: { type: "boolean" },
} as const;

function parseWeights(value: string | undefined): Partial<Record<LossName, number>> | undefined {
  if (value === undefined) return undefined;
  const out: Partial<Record<LossName, number>> = {};
  for (const part of value.split(",")) {
    const [name, w] = part.split("=");
    if (!LOSS_NAMES.includes(name as LossName)) throw new UsageError(`--weights ${value}: '${name}' is not a loss term (${LOSS_NAMES.join(", ")})`);
    out[name as LossName] = positiveFlag(w ?? "", `--weights ${name}`, true);
  }
  return out;
}

/** The dense student's teacher and regulariser, checked before any work; undefined without --distill-from. */
function distillOverrides(file: string | undefined, reg: string | undefined, lambda: string | undefined): ConfigOverrides["distill"] {
  if (file === undefined) {
    if (reg !== undefined || lambda !== undefined) throw new UsageError(`${reg !== undefined ? "--reg" : "--lambda"} needs --distill-from FILE (the dense student's teacher)`);
    return undefined;
  }
  const form = choiceFlag(reg, "--reg", REGULARIZER_FORMS);
  const weight = positiveFlag(lambda, "--lambda", true);
  let teacher;
  try {
    teacher = readDistillTeacher(existingFile(file, "--distill-from"));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--distill-from ${(e as Error).message}`);
  }
  return { teacher, form, lambda: weight };
}

async function main(): Promise<number> {
  const v = parseCommandLine(process.argv.slice(2), { usage: USAGE, options: OPTIONS });
  const row = choiceFlag(required(v.config, "--config", ROW_NAMES.join(", ")), "--config", ROW_NAMES)!;
  const teacherName = choiceFlag(required(v.teacher, "--teacher", TEACHER_NAMES.join(", ")), "--teacher", TEACHER_NAMES)!;
  const size = integerFlag(v.size, "--size", 32);
  if (size !== undefined && size % 8 !== 0) throw new UsageError(`--size ${size}: must be a multiple of 8`);
  const images = v.images === undefined ? undefined : projectRelative(existingDir(v.images, "--images"));
  const distill = distillOverrides(v["distill-from"], v.reg, v.lambda);
  const overrides: ConfigOverrides = {
    steps: integerFlag(v.steps, "--steps"),
    seed: integerFlag(v.seed, "--seed", 0),
    width: positiveFlag(v.width, "--width"),
    size,
    batch: integerFlag(v.batch, "--batch"),
    images,
    checkpointEvery: integerFlag(v["checkpoint-every"], "--checkpoint-every"),
    validateEvery: integerFlag(v["validate-every"], "--validate-every"),
    validationPairs: integerFlag(v["validation-pairs"], "--validation-pairs"),
    weights: parseWeights(v.weights),
    wscVariant: choiceFlag(v.wsc, "--wsc", ["release", "supcon"] as const),
    warpTeacher: v["warp-teacher"] === true ? true : undefined,
    distill,
  };
  const config = resolveConfig(row, teacherName, overrides);
  const imageDir = path.resolve(PROJECT_ROOT, config.data.images);
  let split;
  try {
    split = splitImages(imageDir);
  } catch (e) {
    throw new UsageError(`--images ${(e as Error).message}`);
  }
  const outRoot = path.resolve(v.out ?? projectPath("outputs", "runs"));
  const dir = path.join(outRoot, defaultRunName(config));
  if (fs.existsSync(path.join(dir, RUN_FILES.final))) {
    console.log(`run ${path.relative(process.cwd(), dir)} is finished (${RUN_FILES.final}); nothing to do`);
    return 0;
  }
  if (fs.existsSync(path.join(dir, RUN_FILES.config)) && !v.resume) {
    throw new UsageError(`${path.relative(process.cwd(), dir)}: an unfinished run with these flags exists; add --resume to continue it`);
  }

  const quiet = v.quiet === true;
  const engine = await initEngine({ quiet });
  if (!quiet) console.log(`images: ${split.train.length} for training, ${split.validation.length} for validation (${split.rule})`);
  const sources = await prepareRunData(config, split, { cacheRoot: v.cache, quiet });

  const shouldStop = stopOnInterrupt();
  const t0 = performance.now();
  const result = await train(config, dir, sources, { resume: v.resume === true, quiet, shouldStop, timeBareStep: v.profile === true });
  const minutes = (performance.now() - t0) / 60000;
  const shown = path.relative(process.cwd(), dir);
  if (result.status === "interrupted") {
    console.log(`interrupted at step ${result.steps} of ${config.steps}; checkpoint ${shown}/${RUN_FILES.last}; continue with the same flags and --resume`);
    return 0;
  }
  const val = result.lastValidation;
  console.log(
    `run ${shown}: ${config.steps} steps in ${minutes.toFixed(1)} min (${engine.backend}, ${engine.threads} threads)` +
      (val ? `; validation MMA@1/3/5 ${val.mma.filter((_, i) => [0, 2, 4].includes(i)).map((x) => (100 * x).toFixed(1)).join("/")}%` : "") +
      (result.best ? `; best MMA@3 ${(100 * result.best.mma3).toFixed(1)}% at step ${result.best.step}` : ""),
  );
  console.log(`weights: ${shown}/${RUN_FILES.final} (evaluate with: npm run eval -- --dataset data/synthetic-hpatches --method ${shown}/${RUN_FILES.final})`);
  if (v.profile) {
    const p = result.profile;
    const total = p.batch + p.step + p.update;
    console.log(`profile over ${p.steps} steps (mean ms per step): batch assembly ${p.batch.toFixed(0)}, forward + losses + backward ${p.step.toFixed(0)}, Adam ${p.update.toFixed(0)}, total ${total.toFixed(0)}; validation ${(p.validation_total / 1000).toFixed(1)} s in all`);
    const b = p.bare!;
    console.log(`bare network step (npm run bench's, same network, crop and batch, timed on each batch right after its training step): median ${b.bare_ms.toFixed(0)} ms against ${b.whole_ms.toFixed(0)} for the whole training step; whole / bare = ${(b.whole_ms / b.bare_ms).toFixed(2)}`);
  }
  return 0;
}

// A divergence (DivergenceError) is not bad input: runMain prints its one error line and exits 1.
runMain(main, [DatasetError, SourceError]);
