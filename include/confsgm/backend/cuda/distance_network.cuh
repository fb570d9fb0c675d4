// confsgm/backend/cuda/distance_network.cuh: the distance-space score network
// (model/distance_score_network.hpp) evaluated on the GPU, forward pass, in
// float: dense layers through cuBLAS (FP32, TF32 on request), gathers,
// message passing and the readout as own kernels. It reads the same flat
// parameter vector as the CPU network, so a model trained on either side runs
// on both.
//
// Message passing is deterministic: every atom sums its incident edges in edge
// order through a CSR index built on the host (no atomics), which is also the
// order of the CPU backend's accumulation.
#pragma once

#include "confsgm/backend/cuda/device_buffer.hpp"
#include "confsgm/model/distance_score_network.hpp"

#include <map>

namespace confsgm::cuda {

namespace kernels {
// Internal linkage: a program may include these headers from several .cu files.
namespace {

constexpr int threads = 256;
inline int blocks_for(std::size_t n) { return static_cast<int>((n + threads - 1) / threads); }

__global__ void gather_rows(float* out, const float* table, const int* idx, int rows, int cols) {
  const std::size_t t = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (t >= std::size_t(rows) * cols) return;
  const int r = static_cast<int>(t / cols), c = static_cast<int>(t % cols);
  out[t] = table[std::size_t(idx[r]) * cols + c];
}

__global__ void distance_input(float* x0, const float* d, const float* sigma, int edges) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= edges) return;
  x0[2 * k] = d[k];
  x0[2 * k + 1] = static_cast<float>(log(static_cast<double>(sigma[k])));  // as the CPU: log in double
}

/// y = x W^T for a few rows (x: rows x in, W: out x in, y: rows x out, all row-major): one thread per output,
/// the sum over k in order. For such shapes cuBLAS (FP32, pedantic math) chose a split-K kernel that took 62 µs
/// per call on an H100, 8 calls per forward pass of one molecule (ncu, docs/performance.md).
__global__ void small_rows_gemm(float* y, const float* x, const float* w, int rows, int in, int out) {
  const std::size_t t = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (t >= std::size_t(rows) * out) return;
  const std::size_t r = t / out, o = t % out;
  const float* xr = x + r * in;
  const float* wo = w + o * in;
  float acc = 0.0f;
  for (int k = 0; k < in; ++k) acc += xr[k] * wo[k];
  y[t] = acc;
}

/// y = act(y + b) (+ residual), row-major rows x cols.
__global__ void bias_act(float* y, const float* b, int rows, int cols, bool relu, const float* residual) {
  const std::size_t t = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (t >= std::size_t(rows) * cols) return;
  float v = y[t] + b[t % cols];
  if (relu) v = fmaxf(v, 0.0f);
  if (residual) v += residual[t];
  y[t] = v;
}

/// e[k] = dist_feat[k] * E_type[type[k]]
__global__ void edge_features(float* e, const float* dist_feat, const float* type_table, const int* type, int edges,
                              int h) {
  const std::size_t t = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (t >= std::size_t(edges) * h) return;
  const int k = static_cast<int>(t / h), f = static_cast<int>(t % h);
  e[t] = dist_feat[t] * type_table[std::size_t(type[k]) * h + f];
}

/// u_v = h_v + (1/deg v) sum_{edges k at v, in edge order} relu(h_other + e_k)
__global__ void gine_aggregate(float* u, const float* hin, const float* e, const int* inc_offset, const int* inc_edge,
                               const int* inc_other, int atoms, int h) {
  const std::size_t t = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (t >= std::size_t(atoms) * h) return;
  const int v = static_cast<int>(t / h), f = static_cast<int>(t % h);
  const int b = inc_offset[v], end = inc_offset[v + 1];
  float acc = 0.0f;
  for (int q = b; q < end; ++q)
    acc += fmaxf(hin[std::size_t(inc_other[q]) * h + f] + e[std::size_t(inc_edge[q]) * h + f], 0.0f);
  const float inv = end > b ? 1.0f / static_cast<float>(end - b) : 1.0f;
  u[t] = hin[t] + inv * acc;
}

/// q_k = [h_i * h_j, e_k]
__global__ void head_input(float* q, const float* hl, const float* e, const int* ei, const int* ej, int edges, int h) {
  const std::size_t t = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (t >= std::size_t(edges) * 2 * h) return;
  const int k = static_cast<int>(t / (2 * h)), f = static_cast<int>(t % (2 * h));
  q[t] = f < h ? hl[std::size_t(ei[k]) * h + f] * hl[std::size_t(ej[k]) * h + f] : e[std::size_t(k) * h + (f - h)];
}

__global__ void divide(float* score, const float* o, const float* sigma, int edges) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k < edges) score[k] = o[k] / sigma[k];
}

}  // namespace
}  // namespace kernels

/// A batched graph on the device, with the per-atom incidence lists of message passing.
struct device_graph {
  int atoms = 0, edges = 0;
  std::uint32_t max_atom_type = 0, max_edge_type = 0;  ///< checked against a network's tables before use
  device_buffer<int> atom_type, edge_i, edge_j, edge_type, inc_offset, inc_edge, inc_other;

  device_graph() = default;
  explicit device_graph(const model::graph_batch& b) {
    atoms = static_cast<int>(b.num_atoms());
    edges = static_cast<int>(b.num_edges());
    for (const auto t : b.atom_type) max_atom_type = std::max(max_atom_type, t);
    for (const auto t : b.edge_type) max_edge_type = std::max(max_edge_type, t);
    std::vector<int> at(b.atom_type.begin(), b.atom_type.end()), ei(b.edges.i.begin(), b.edges.i.end()),
        ej(b.edges.j.begin(), b.edges.j.end()), et(b.edge_type.begin(), b.edge_type.end());
    std::vector<int> off(static_cast<std::size_t>(atoms) + 1, 0), edge, other;
    for (int k = 0; k < edges; ++k) {
      ++off[static_cast<std::size_t>(ei[k]) + 1];
      ++off[static_cast<std::size_t>(ej[k]) + 1];
    }
    for (int v = 0; v < atoms; ++v) off[v + 1] += off[v];
    edge.resize(static_cast<std::size_t>(off.back()));
    other.resize(edge.size());
    std::vector<int> fill(off.begin(), off.end() - 1);
    for (int k = 0; k < edges; ++k) {  // edge order within each atom's list
      edge[fill[ei[k]]] = k;
      other[fill[ei[k]]++] = ej[k];
      edge[fill[ej[k]]] = k;
      other[fill[ej[k]]++] = ei[k];
    }
    atom_type.upload(at);
    edge_i.upload(ei);
    edge_j.upload(ej);
    edge_type.upload(et);
    inc_offset.upload(off);
    inc_edge.upload(edge);
    inc_other.upload(other);
  }
};

/// Device copy of a network's flat parameter vector, addressed by block name.
class device_parameters {
 public:
  device_parameters(const model::parameter_layout& layout, const model::parameter_vector<float>& p) {
    if (p.size() != layout.size())
      throw shape_mismatch("device_parameters: " + std::to_string(p.size()) + " parameters for a layout of " +
                           std::to_string(layout.size()));
    require_device();
    upload(p);
    for (const auto& blk : layout.blocks()) offset_[blk.name] = blk.offset;
  }
  const float* operator()(const std::string& name) const {
    const auto it = offset_.find(name);
    if (it == offset_.end()) throw invalid_argument("device_parameters: no parameter block '" + name + "'");
    return data_.data() + it->second;
  }
  /// Replaces the values (same count).
  void upload(const model::parameter_vector<float>& p) {
    if (data_.size() && p.size() != data_.size())
      throw shape_mismatch("device_parameters::upload(): " + std::to_string(p.size()) + " values for " +
                           std::to_string(data_.size()) + " parameters");
    data_.upload(p.data(), p.size());
  }
  void download(model::parameter_vector<float>& p) const {
    p.resize(data_.size());
    data_.download(p.data(), p.size());
  }
  float* data() noexcept { return data_.data(); }
  const float* data() const noexcept { return data_.data(); }
  std::size_t size() const noexcept { return data_.size(); }

 private:
  device_buffer<float> data_;
  std::map<std::string, std::size_t> offset_;
};

/// y (rows x out) = act(x W^T + b) (+ residual): row-major x (rows x in), W (out x in), through cuBLAS.
inline void linear_gpu(const blas_handle& blas, const device_parameters& p, const float* x, int rows, int in,
                       const std::string& name, float* y, int out, bool relu, const float* residual) {
  // Below this many rows (one molecule, or a few) a plain kernel beats cuBLAS's choice by far.
  constexpr int small_rows = 256;
  if (rows <= small_rows) {
    kernels::small_rows_gemm<<<kernels::blocks_for(std::size_t(rows) * out), kernels::threads>>>(
        y, x, p(name + ".weight"), rows, in, out);
  } else {
    const float one = 1.0f, zero = 0.0f;
    CONFSGM_CUDA_CHECK(cublasSgemm(blas.get(), CUBLAS_OP_T, CUBLAS_OP_N, out, rows, in, &one, p(name + ".weight"), in,
                                   x, in, &zero, y, out));
  }
  kernels::bias_act<<<kernels::blocks_for(std::size_t(rows) * out), kernels::threads>>>(y, p(name + ".bias"), rows, out,
                                                                                       relu, residual);
}

/// The shared graph encoder (model/graph_encoder.hpp) on the GPU: final atom features and edge features.
/// Refuses a graph whose atom or edge types lie outside a network's embedding tables.
inline void check_types(const device_graph& g, std::size_t atom_types, std::size_t edge_types) {
  if (g.atoms && g.max_atom_type >= atom_types)
    throw invalid_argument("CUDA network: atom type " + std::to_string(g.max_atom_type) + " outside the embedding of " +
                           std::to_string(atom_types));
  if (g.edges && g.max_edge_type >= edge_types)
    throw invalid_argument("CUDA network: edge type " + std::to_string(g.max_edge_type) + " outside the embedding of " +
                           std::to_string(edge_types));
}

class graph_encoder_gpu {
 public:
  graph_encoder_gpu(int hidden, int layers, std::size_t atom_types = 100, std::size_t edge_types = num_bond_types + 2)
      : h_(hidden), layers_(layers), atom_types_(atom_types), edge_types_(edge_types) {}

  /// Runs the encoder; atoms() and edges() then point to h^L (N x H) and e (E x H).
  void forward(const blas_handle& blas, const device_parameters& p, const device_graph& g, const float* d,
               const float* sigma) {
    using namespace kernels;
    check_types(g, atom_types_, edge_types_);
    const int E = g.edges, N = g.atoms, H = h_;
    x0_.resize(std::size_t(E) * 2);
    t1_.resize(std::max<std::size_t>(std::size_t(E), std::size_t(N)) * H);
    t2_.resize(std::size_t(E) * H);
    e_.resize(std::size_t(E) * H);
    h_a_.resize(std::size_t(N) * H);
    h_b_.resize(std::size_t(N) * H);
    u_.resize(std::size_t(N) * H);
    distance_input<<<blocks_for(E), threads>>>(x0_.data(), d, sigma, E);
    linear_gpu(blas, p, x0_.data(), E, 2, "distance_mlp.0", t1_.data(), H, true, nullptr);
    linear_gpu(blas, p, t1_.data(), E, H, "distance_mlp.1", t2_.data(), H, false, nullptr);
    edge_features<<<blocks_for(std::size_t(E) * H), threads>>>(e_.data(), t2_.data(), p("edge_type_embedding"),
                                                              g.edge_type.data(), E, H);
    gather_rows<<<blocks_for(std::size_t(N) * H), threads>>>(h_a_.data(), p("atom_embedding"), g.atom_type.data(), N, H);
    float* h = h_a_.data();
    float* next = h_b_.data();
    for (int l = 0; l < layers_; ++l) {
      const std::string name = "gine." + std::to_string(l);
      gine_aggregate<<<blocks_for(std::size_t(N) * H), threads>>>(u_.data(), h, e_.data(), g.inc_offset.data(),
                                                                 g.inc_edge.data(), g.inc_other.data(), N, H);
      linear_gpu(blas, p, u_.data(), N, H, name + ".0", t1_.data(), H, true, nullptr);
      linear_gpu(blas, p, t1_.data(), N, H, name + ".1", next, H, l + 1 < layers_, h);  // h^{l+1} = h^l + conv
      std::swap(h, next);
    }
    last_ = h;
  }
  const float* atoms() const noexcept { return last_; }
  const float* edges() const noexcept { return e_.data(); }
  double flops(int atoms, int edges) const noexcept {
    const double H = h_;
    return 2.0 * edges * (2 * H + H * H) + layers_ * 2.0 * atoms * (2 * H * H);
  }

 private:
  int h_, layers_;
  std::size_t atom_types_, edge_types_;
  const float* last_ = nullptr;
  device_buffer<float> x0_, t1_, t2_, e_, h_a_, h_b_, u_;
};

/// The distance network's forward pass on the GPU.
class distance_network_gpu {
 public:
  distance_network_gpu(const model::distance_score_network<float>& net, const model::parameter_vector<float>& p,
                       bool tf32 = false)
      : h_(static_cast<int>(net.config().hidden)), layers_(static_cast<int>(net.config().layers)), blas_(tf32),
        params_(net.layout(), p), encoder_(h_, layers_, net.config().atom_types, net.config().edge_types) {}

  int hidden() const noexcept { return h_; }

  /// score (device, E floats) of distances d and noise sigma (device, E floats each) on graph g.
  void forward(const device_graph& g, const float* d, const float* sigma, float* score) {
    using namespace kernels;
    const int E = g.edges, H = h_;
    encoder_.forward(blas_, params_, g, d, sigma);
    q_.resize(std::size_t(E) * 2 * H);
    t1_.resize(std::size_t(E) * H);
    t2_.resize(std::size_t(E) * H);
    o_.resize(std::size_t(E));
    head_input<<<blocks_for(std::size_t(E) * 2 * H), threads>>>(q_.data(), encoder_.atoms(), encoder_.edges(),
                                                                g.edge_i.data(), g.edge_j.data(), E, H);
    linear_gpu(blas_, params_, q_.data(), E, 2 * H, "edge_head.0", t1_.data(), H, true, nullptr);
    linear_gpu(blas_, params_, t1_.data(), E, H, "edge_head.1", t2_.data(), H / 2, true, nullptr);
    linear_gpu(blas_, params_, t2_.data(), E, H / 2, "edge_head.2", o_.data(), 1, false, nullptr);
    divide<<<blocks_for(E), threads>>>(score, o_.data(), sigma, E);
    CONFSGM_CUDA_CHECK_LAUNCH("distance_network_gpu::forward kernels");
  }

  /// FLOPs of the GEMMs of one forward pass (as the CPU network counts them).
  double forward_flops(int atoms, int edges) const noexcept {
    const double H = h_, E = edges;
    return encoder_.flops(atoms, edges) + 2.0 * E * (2 * H * H + H * H / 2 + H / 2);
  }

 private:
  int h_, layers_;
  blas_handle blas_;
  device_parameters params_;
  graph_encoder_gpu encoder_;
  device_buffer<float> q_, t1_, t2_, o_;
};

}  // namespace confsgm::cuda
