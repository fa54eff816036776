{
  "variables": {
    # 1 when scripts/build-native.cjs found oneDNN (libdnnl-dev): convolutions then go through it.
    "with_dnnl%": "<!(node -p \"process.env.SAMFEAT_WITH_DNNL === '1' ? 1 : 0\")"
  },
  "targets": [
    {
      # The kernels get AVX2/FMA code generation; the binding (which checks the CPU first) does not.
      "target_name": "samfeat_kernels",
      "type": "static_library",
      "sources": ["src/kernels.cc", "src/dnnl_conv.cc"],
      "cflags_cc": ["-O3", "-mavx2", "-mfma", "-fno-trapping-math", "-fPIC", "-std=c++17"],
      "cflags_cc!": ["-fno-exceptions"],
      "conditions": [["with_dnnl==1", {"defines": ["SAMFEAT_DNNL"], "cflags_cc": ["-fopenmp"]}]]
    },
    {
      "target_name": "samfeat_native",
      "sources": ["src/binding.cc"],
      "dependencies": ["samfeat_kernels"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O2", "-std=c++17"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-lopenblas", "-lpthread"],
      "conditions": [["with_dnnl==1", {"libraries": ["-ldnnl", "-fopenmp"]}]]
    }
  ]
}
