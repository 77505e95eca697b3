/* The subset of cuDNN 9's legacy API zeroq binds (dev.zeroq.backend.cuda.CudnnConv); jextract reads this file
   (see bindings/README.md). cudnn.h includes cudnn_graph.h, cudnn_ops.h and cudnn_cnn.h; the shim libcudnn.so.9
   exports every function below. */
#include <cudnn.h>

/* cudnnGetVersion */
/* cudnnGetErrorString */
/* cudnnCreate */
/* cudnnDestroy */
/* cudnnSetStream */
/* cudnnCreateTensorDescriptor */
/* cudnnSetTensor4dDescriptor */
/* cudnnDestroyTensorDescriptor */
/* cudnnAddTensor */
/* cudnnCreateFilterDescriptor */
/* cudnnSetFilter4dDescriptor */
/* cudnnDestroyFilterDescriptor */
/* cudnnCreateConvolutionDescriptor */
/* cudnnSetConvolution2dDescriptor */
/* cudnnSetConvolutionGroupCount */
/* cudnnSetConvolutionMathType */
/* cudnnDestroyConvolutionDescriptor */
/* cudnnGetConvolution2dForwardOutputDim */
/* cudnnGetConvolutionForwardAlgorithm_v7 */
/* cudnnFindConvolutionForwardAlgorithm */
/* cudnnGetConvolutionForwardWorkspaceSize */
/* cudnnConvolutionForward */
/* cudnnGetConvolutionBackwardDataAlgorithm_v7 */
/* cudnnFindConvolutionBackwardDataAlgorithm */
/* cudnnGetConvolutionBackwardDataWorkspaceSize */
/* cudnnConvolutionBackwardData */