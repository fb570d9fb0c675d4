// confsgm/config.hpp: feature macros and portability switches shared by every
// header. Component targets (confsgm::rdkit, confsgm::io, confsgm::cuda) define
// CONFSGM_HAS_<X>=1; nothing here guesses them.
#pragma once

#ifndef CONFSGM_HAS_RDKIT
#define CONFSGM_HAS_RDKIT 0
#endif
#ifndef CONFSGM_HAS_IO
#define CONFSGM_HAS_IO 0
#endif
#ifndef CONFSGM_HAS_CUDA
#define CONFSGM_HAS_CUDA 0
#endif

// Functions that kernels and host code share are marked host+device only when
// nvcc compiles them (the Eigen/Kokkos convention).
#if defined(__CUDACC__)
#define CONFSGM_HOST_DEVICE __host__ __device__
#else
#define CONFSGM_HOST_DEVICE
#endif

#if defined(CONFSGM_ENABLE_ASSERT) && CONFSGM_ENABLE_ASSERT
#include <cassert>
#define CONFSGM_ASSERT(cond) assert(cond)
#else
#define CONFSGM_ASSERT(cond) ((void)0)
#endif
