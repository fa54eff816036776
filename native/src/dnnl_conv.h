// Convolutions through oneDNN when the addon was built with it (SAMFEAT_DNNL). Each returns false,
// having done nothing, when oneDNN is absent or has no implementation for the shape.
#pragma once
#include "kernels.h"

namespace samfeat {

bool dnnlAvailable();
// Threads of oneDNN's OpenMP team (the pool's own threads sleep while it runs).
void dnnlSetThreads(int threads);
bool dnnlConv2d(const float* x, const float* w, const float* bias, float* y, const ConvShape& s, bool relu);
bool dnnlConv2dBackpropInput(const float* dy, const float* w, float* dx, const ConvShape& s);
bool dnnlConv2dBackpropFilter(const float* x, const float* dy, float* dw, const ConvShape& s);

}  // namespace samfeat
