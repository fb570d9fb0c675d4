// confsgm/backend/cpu/eigen_backend.hpp: the CPU backend. The Backend policy
// names a matrix type and the three GEMM shapes a layer's forward and backward
// passes need; the network is written against these, so the CUDA backend
// (cuBLAS) is a peer of this one, not a branch inside the core.
#pragma once

#include <Eigen/Core>

// confsgm parallelises over molecules; Eigen's OpenMP GEMM nested inside those
// threads oversubscribes the cores (the CMake target defines this for you).
#if defined(_OPENMP) && !defined(EIGEN_DONT_PARALLELIZE)
#warning "confsgm: define EIGEN_DONT_PARALLELIZE when compiling with OpenMP (Eigen's GEMM threads nest inside confsgm's)"
#endif

#include <concepts>
#include <string>

namespace confsgm {

/// A Backend provides row-major matrices of Scalar and, for C += A op B:
/// gemm_nt (C = a*A*B^T + b*C, forward), gemm_nn (input gradient), gemm_tn (weight gradient).
template <class B>
concept Backend = requires {
  typename B::template matrix<float>;
  typename B::template matrix<double>;
  { B::name() } -> std::convertible_to<std::string>;
} && requires(typename B::template matrix<double>& c, const typename B::template matrix<double>& a) {
  B::gemm_nt(1.0, a, a, 0.0, c);
  B::gemm_nn(1.0, a, a, 0.0, c);
  B::gemm_tn(1.0, a, a, 0.0, c);
};

namespace backend {

struct cpu_eigen {
  template <class Scalar>
  using matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  static std::string name() { return "cpu-eigen"; }

  template <class S, class MA, class MB, class MC>
  static void gemm_nt(S alpha, const MA& a, const MB& b, S beta, MC& c) {
    if (beta == S(0)) c.noalias() = alpha * a * b.transpose();
    else { c *= beta; c.noalias() += alpha * a * b.transpose(); }
  }
  template <class S, class MA, class MB, class MC>
  static void gemm_nn(S alpha, const MA& a, const MB& b, S beta, MC& c) {
    if (beta == S(0)) c.noalias() = alpha * a * b;
    else { c *= beta; c.noalias() += alpha * a * b; }
  }
  template <class S, class MA, class MB, class MC>
  static void gemm_tn(S alpha, const MA& a, const MB& b, S beta, MC& c) {
    if (beta == S(0)) c.noalias() = alpha * a.transpose() * b;
    else { c *= beta; c.noalias() += alpha * a.transpose() * b; }
  }
};

static_assert(Backend<cpu_eigen>, "cpu_eigen must model Backend");

}  // namespace backend
}  // namespace confsgm
