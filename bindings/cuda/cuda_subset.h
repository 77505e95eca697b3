/* The subset of the CUDA driver API zeroq binds; jextract reads this file (see bindings/README.md). */
/* Functions are listed by the names cuda.h maps them to (cuMemAlloc -> cuMemAlloc_v2, ...). */
#include <cuda.h>

/* cuGetErrorName */
/* cuGetErrorString */
/* cuInit */
/* cuDriverGetVersion */
/* cuDeviceGet */
/* cuDeviceGetCount */
/* cuDeviceGetName */
/* cuDeviceGetAttribute */
/* cuDeviceTotalMem_v2 */
/* cuDevicePrimaryCtxRetain */
/* cuDevicePrimaryCtxRelease_v2 */
/* cuCtxSetCurrent */
/* cuCtxSynchronize */
/* cuMemGetInfo_v2 */
/* cuMemAlloc_v2 */
/* cuMemFree_v2 */
/* cuMemAllocHost_v2 */
/* cuMemFreeHost */
/* cuMemcpyHtoD_v2 */
/* cuMemcpyDtoH_v2 */
/* cuMemcpyHtoDAsync_v2 */
/* cuMemcpyDtoHAsync_v2 */
/* cuMemsetD32_v2 */
/* cuModuleLoadData */
/* cuModuleUnload */
/* cuModuleGetFunction */
/* cuFuncGetAttribute */
/* cuLaunchKernel */
/* cuStreamCreate */
/* cuStreamDestroy_v2 */
/* cuStreamSynchronize */
/* cuEventCreate */
/* cuEventRecord */
/* cuEventSynchronize */
/* cuEventElapsedTime_v2 */
/* cuEventDestroy_v2 */
/* cuStreamBeginCapture_v2 */
/* cuStreamEndCapture */
/* cuGraphInstantiateWithFlags */
/* cuGraphLaunch */
/* cuGraphExecDestroy */
/* cuGraphDestroy */
