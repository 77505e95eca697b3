// gemm: out = alpha·op(A)·op(B) + beta·C (ONNX Gemm). op() is applied through strides, so transposes cost
// nothing: A(i,k) = a[i·sAi + k·sAk], B(k,j) = b[k·sBk + j·sBj], C(i,j) = c[i·sCi + j·sCj] with 0 strides for a
// broadcast C (scalar, (N), (M,1)). 16x16 output tiles; 16x16 tiles of A and B staged in shared memory.
// Launch: block (16, 16), grid (ceil(N/16), ceil(M/16)).
// a: M x K (after op)   b: K x N (after op)   c: broadcastable to M x N, or null   out: (M, N)
#include "common.cuh"

#define GEMM_TILE 16

extern "C" __global__ void __launch_bounds__(GEMM_TILE * GEMM_TILE)
gemm(const float* __restrict__ a, const float* __restrict__ b, const float* __restrict__ c, float* __restrict__ out,
     int m, int n, int k, int sAi, int sAk, int sBk, int sBj, int sCi, int sCj, float alpha, float beta) {
    // +1 column of padding: the A tile is read down a column, which would otherwise hit one bank 16 times.
    __shared__ float ta[GEMM_TILE][GEMM_TILE + 1];
    __shared__ float tb[GEMM_TILE][GEMM_TILE + 1];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int row = blockIdx.y * GEMM_TILE + ty;
    const int col = blockIdx.x * GEMM_TILE + tx;
    float acc = 0.f;
    for (int k0 = 0; k0 < k; k0 += GEMM_TILE) {
        const int ka = k0 + tx, kb = k0 + ty;
        ta[ty][tx] = (row < m && ka < k) ? a[(long long)row * sAi + (long long)ka * sAk] : 0.f;
        tb[ty][tx] = (kb < k && col < n) ? b[(long long)kb * sBk + (long long)col * sBj] : 0.f;
        __syncthreads();
        for (int kk = 0; kk < GEMM_TILE; kk++) {
            acc += ta[ty][kk] * tb[kk][tx];
        }
        __syncthreads(); // tiles are consumed before the next iteration overwrites them
    }
    if (row < m && col < n) {
        float r = alpha * acc;
        if (c != nullptr) {
            r += beta * c[(long long)row * sCi + (long long)col * sCj];
        }
        out[(long long)row * n + col] = r;
    }
}
