// Shared by the zeroq kernels: the small by-value shape struct used for strided/broadcast indexing and the
// grid-stride loop helper. Tensors come from Java arrays, so every element count and offset fits in an int;
// index arithmetic is still done in 64 bits where products can grow (i·stride before the final offset).
#pragma once

#define ZQ_MAX_RANK 6

// Passed by value as a kernel parameter (24 bytes, 4-byte aligned); the Java side writes six ints.
struct Shape6 {
    int d[ZQ_MAX_RANK];
};

// Grid-stride loop over [0, n): correct for any grid size, so the host may cap the grid.
#define ZQ_FOR_EACH(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
         i += (long long)gridDim.x * blockDim.x)
