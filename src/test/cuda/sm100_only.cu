// A kernel for CudaFaultTest, compiled by native/build-kernels.sh as SASS for sm_100 ONLY (no PTX), so that a
// device of any other architecture has no image it can load: cuModuleLoadData must fail with
// CUDA_ERROR_NO_BINARY_FOR_GPU. Launch shape: never launched. Arguments: x: (n) floats, incremented in place.
extern "C" __global__ void sm100_only_increment(float* x, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] += 1.0f;
}
