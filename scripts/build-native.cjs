#!/usr/bin/env node
// Builds the optional native kernels (native/, node-addon-api + OpenBLAS, AVX2/FMA) from source.
//
// Run at install time. On a user's machine it never fails the install: when something is missing
// (compiler, OpenBLAS, an x86-64 CPU with AVX2 and FMA, node-gyp, Node's headers) it prints one line
// saying why native kernels are off, records the reason in native/build/status.json (shown by the
// engine at start-up) and exits 0. Under CI=true the native kernels are required: the same line, then
// exit 1, so a broken native build fails the install instead of leaving CI green.
// Set SAMFEAT_NATIVE=0 to skip the build, SAMFEAT_ONEDNN=0 to build without oneDNN even where it is installed.
"use strict";
const { spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const ROOT = path.resolve(__dirname, "..");
const NATIVE = path.join(ROOT, "native");
const BUILD = path.join(NATIVE, "build");
const ADDON = path.join(BUILD, "Release", "samfeat_native.node");
const STATUS = path.join(BUILD, "status.json");
const LOG = path.join(BUILD, "build.log");

class Off extends Error {}

function writeAtomic(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20, ...opts });
}

function checkCpu() {
  if (process.arch !== "x64") throw new Off(`needs an x86-64 CPU with AVX2 and FMA (this is ${process.arch})`);
  if (process.platform !== "linux") throw new Off(`builds on Linux only (this is ${process.platform})`);
  const info = fs.readFileSync("/proc/cpuinfo", "utf8");
  const flags = new Set((info.match(/^flags\s*:(.*)$/m) || ["", ""])[1].trim().split(/\s+/));
  for (const f of ["avx2", "fma"]) if (!flags.has(f)) throw new Off(`CPU lacks ${f.toUpperCase()}`);
}

function checkToolchain() {
  const cxx = process.env.CXX || "c++";
  const v = run(cxx, ["--version"]);
  if (v.error || v.status !== 0) throw new Off(`no C++ compiler (${cxx}; apt-get install g++ make)`);
  if (run("make", ["--version"]).status !== 0) throw new Off("no make (apt-get install make)");
  // Compile and link a probe against OpenBLAS's CBLAS interface.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-blas-"));
  try {
    const src = path.join(dir, "probe.cc");
    fs.writeFileSync(src, "#include <cblas.h>\nint main() { openblas_set_num_threads(1); return 0; }\n");
    const r = run(cxx, [src, "-o", path.join(dir, "probe"), "-lopenblas"]);
    if (r.status !== 0) throw new Off("OpenBLAS not found (cblas.h / libopenblas; apt-get install libopenblas-dev)");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// oneDNN (Debian's libdnnl-dev, the library PyTorch's CPU convolutions use) is optional: without it the
// convolutions run as im2col + OpenBLAS.
function hasOneDnn() {
  const cxx = process.env.CXX || "c++";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "samfeat-dnnl-"));
  try {
    const src = path.join(dir, "probe.cc");
    fs.writeFileSync(src, "#include <oneapi/dnnl/dnnl.hpp>\nint main() { dnnl::engine e(dnnl::engine::kind::cpu, 0); return 0; }\n");
    return run(cxx, [src, "-std=c++17", "-fopenmp", "-o", path.join(dir, "probe"), "-ldnnl"]).status === 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin",
      "node-gyp.js"),
  ];
  try {
    candidates.push(require.resolve("node-gyp/bin/node-gyp.js"));
  } catch {
    // not installed locally
  }
  const found = candidates.find((c) => c && fs.existsSync(c));
  if (!found) throw new Off("node-gyp not found (it ships with npm)");
  return found;
}

// Node's headers: the ones installed next to this node binary, so no download is ever needed.
function nodeDir() {
  const fromNpm = process.env.npm_config_nodedir;
  if (fromNpm && fs.existsSync(path.join(fromNpm, "include", "node", "node_api.h"))) return fromNpm;
  const local = path.resolve(path.dirname(process.execPath), "..");
  if (fs.existsSync(path.join(local, "include", "node", "node_api.h"))) return local;
  throw new Off("Node's C headers not found next to the node binary (install nodejs with its headers)");
}

function build(withOneDnn) {
  try {
    require.resolve("node-addon-api", { paths: [ROOT] });
  } catch {
    throw new Off("node-addon-api is not installed");
  }
  const r = run(process.execPath, [nodeGyp(), "rebuild", `--nodedir=${nodeDir()}`, "-j", String(os.cpus().length)], {
    cwd: NATIVE,
    env: { ...process.env, SAMFEAT_WITH_DNNL: withOneDnn ? "1" : "0" },
  });
  writeAtomic(LOG, `${r.stdout || ""}\n${r.stderr || ""}`);
  if (r.status !== 0 || !fs.existsSync(ADDON)) {
    const err = `${r.stderr || ""}`.split("\n").find((l) => /error/i.test(l) && !/^gyp ERR! (stack|cwd|node|System|command)/.test(l));
    throw new Off(`compilation failed (${(err || "see native/build/build.log").trim()})`);
  }
  // Load it in a child so a broken binary cannot take this process down.
  const probe = run(process.execPath, ["-e", `const r = require(${JSON.stringify(ADDON)}).init();
    if (!r.ok) { console.log(r.reason); process.exit(3); }`]);
  if (probe.status !== 0) throw new Off(`built addon does not load (${(probe.stdout || probe.stderr || "").trim().split("\n")[0]})`);
}

/** Returns the reason the native kernels are off ("" when built). */
function main() {
  let reason = "";
  let withOneDnn = false;
  try {
    if (process.env.SAMFEAT_NATIVE === "0") throw new Off("disabled by SAMFEAT_NATIVE=0");
    checkCpu();
    checkToolchain();
    withOneDnn = process.env.SAMFEAT_ONEDNN !== "0" && hasOneDnn();
    build(withOneDnn);
  } catch (e) {
    reason = e instanceof Off ? e.message : `unexpected build error: ${e && e.message ? e.message : e}`;
  }
  try {
    if (reason) fs.rmSync(ADDON, { force: true });
    writeAtomic(STATUS, `${JSON.stringify({ built: !reason, reason })}\n`);
  } catch {
    // status is informative only
  }
  const noOneDnn = process.env.SAMFEAT_ONEDNN === "0" ? "oneDNN off (SAMFEAT_ONEDNN=0)" : "no oneDNN (apt-get install libdnnl-dev)";
  const libraries = withOneDnn ? "OpenBLAS + oneDNN" : `OpenBLAS; ${noOneDnn}, so convolutions use im2col`;
  console.log(reason ? `native kernels off: ${reason}` : `native kernels: built (AVX2/FMA, ${libraries})`);
  return reason;
}

let off;
try {
  off = main();
} catch (e) {
  off = e && e.message ? e.message : String(e);
  console.log(`native kernels off: ${off}`);
}
if (off && process.env.CI === "true") {
  console.error("error: scripts/build-native.cjs: CI=true requires the native kernels (see the line above; scripts/setup.sh installs their Debian packages)");
  process.exit(1);
}
process.exit(0);
