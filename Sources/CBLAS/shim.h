// OpenBLAS's cblas.h (Debian: libopenblas-dev). It also declares openblas_set_num_threads,
// which the Swift wrapper uses to pin BLAS to one thread when the caller parallelises itself.
#include <cblas.h>
