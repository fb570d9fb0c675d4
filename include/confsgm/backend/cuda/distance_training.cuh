// confsgm/backend/cuda/distance_training.cuh: the distance-space score network
// with forward *and* backward passes on the GPU, behind the CPU network's own
// interface (forward/backward on host vectors, a cache per call site), so the
// trainer runs unchanged on the GPU:
//
//   train::dsm_trainer<cuda::distance_network_trainable, geometric_schedule, input_perturbation> t(...);
//
// Every reduction is deterministic: parameter gradients by cuBLAS GEMMs and
// per-column sums, message-passing gradients per atom over its incident edges
// in edge order, embedding gradients per table row over its uses in order.
// Two ways in: with host parameters (forward/backward on params, as the CPU
// network; the parameters go up and the gradient comes down per call), and with
// the trainer's device state (train::adam_state<float, cuda_device>, adam.cuh):
// the passes read device_parameters in place and accumulate into a device
// gradient, so training moves only inputs and scores per micro-batch. cuBLAS
// handles come from a pool the network keeps.
#pragma once

#include "confsgm/backend/cuda/adam.cuh"
#include "confsgm/backend/cuda/distance_network.cuh"
#include "confsgm/backend/execution.hpp"
#include "confsgm/train/trainer.hpp"

#include <memory>

namespace confsgm::cuda {

namespace kernels {
// Internal linkage: a program may include these headers from several .cu files.
namespace {

__global__ void relu_mask(float* dy, const float* act, std::size_t n) {
  const std::size_t t = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (t < n && !(act[t] > 0.0f)) dy[t] = 0.0f;
}

/// db[c] += sum over rows of dy[r][c] (row order).
__global__ void column_sums(float* db, const float* dy, int rows, int cols) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  float acc = 0.0f;
  for (int r = 0; r < rows; ++r) acc += dy[std::size_t(r) * cols + c];
  db[c] += acc;
}

__global__ void scale_by_inverse(float* out, const float* in, const float* sigma, int n) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k < n) out[k] = in[k] / sigma[k];
}

/// dh_v = sum_{edges k at v, edge order} dq_k[:H] * h_other;  de_k = dq_k[H:]
__global__ void head_input_backward(float* dh, float* de, const float* dq, const float* hl, const int* inc_offset,
                                    const int* inc_edge, const int* inc_other, int atoms, int edges, int h) {
  const std::size_t t = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (t < std::size_t(atoms) * h) {
    const int v = static_cast<int>(t / h), f = static_cast<int>(t % h);
    float acc = 0.0f;
    for (int q = inc_offset[v]; q < inc_offset[v + 1]; ++q)
      acc += dq[std::size_t(inc_edge[q]) * 2 * h + f] * hl[std::size_t(inc_other[q]) * h + f];
    dh[t] = acc;
  }
  if (t < std::size_t(edges) * h) {
    const int k = static_cast<int>(t / h), f = static_cast<int>(t % h);
    de[t] = dq[std::size_t(k) * 2 * h + h + f];
  }
}

/// GINE backward given du (gradient at the MLP input u = h + mean messages):
///   dh_v += du_v + sum_{k at v, edge order} [h_v + e_k > 0] du_w / deg w     (w the other end)
///   de_k += [h_j + e_k > 0] du_i / deg i + [h_i + e_k > 0] du_j / deg j
__global__ void gine_backward_atoms(float* dh, const float* du, const float* hin, const float* e, const int* inc_offset,
                                    const int* inc_edge, const int* inc_other, int atoms, int h) {
  const std::size_t t = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (t >= std::size_t(atoms) * h) return;
  const int v = static_cast<int>(t / h), f = static_cast<int>(t % h);
  float acc = du[t];
  const float hv = hin[t];
  for (int q = inc_offset[v]; q < inc_offset[v + 1]; ++q) {
    const int w = inc_other[q];
    const int deg = inc_offset[w + 1] - inc_offset[w];
    if (hv + e[std::size_t(inc_edge[q]) * h + f] > 0.0f)
      acc += (1.0f / static_cast<float>(deg)) * du[std::size_t(w) * h + f];
  }
  dh[t] += acc;
}
__global__ void gine_backward_edges(float* de, const float* du, const float* hin, const float* e, const int* ei,
                                    const int* ej, const int* inc_offset, int edges, int h) {
  const std::size_t t = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (t >= std::size_t(edges) * h) return;
  const int k = static_cast<int>(t / h), f = static_cast<int>(t % h);
  const int i = ei[k], j = ej[k];
  const float ek = e[t];
  const float di = static_cast<float>(inc_offset[i + 1] - inc_offset[i]), dj = static_cast<float>(inc_offset[j + 1] - inc_offset[j]);
  float g = 0.0f;
  if (hin[std::size_t(j) * h + f] + ek > 0.0f) g += (1.0f / di) * du[std::size_t(i) * h + f];
  if (hin[std::size_t(i) * h + f] + ek > 0.0f) g += (1.0f / dj) * du[std::size_t(j) * h + f];
  de[t] += g;
}

/// grad_table[r] += sum of dy over the items using row r (items listed per row, in item order).
__global__ void embedding_backward(float* table_grad, const float* dy, const int* row_offset, const int* row_items,
                                   int rows, int dim) {
  const std::size_t t = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (t >= std::size_t(rows) * dim) return;
  const int r = static_cast<int>(t / dim), f = static_cast<int>(t % dim);
  float acc = 0.0f;
  for (int q = row_offset[r]; q < row_offset[r + 1]; ++q) acc += dy[std::size_t(row_items[q]) * dim + f];
  table_grad[t] += acc;
}

/// a = de * b (elementwise), for d(dist_feat) = de * type_feat and d(type_feat) = de * dist_feat.
__global__ void hadamard(float* out, const float* a, const float* b, std::size_t n) {
  const std::size_t t = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (t < n) out[t] = a[t] * b[t];
}

__global__ void gather_type_rows(float* out, const float* table, const int* type, int rows, int h) {
  const std::size_t t = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (t < std::size_t(rows) * h) out[t] = table[std::size_t(type[t / h]) * h + t % h];
}

}  // namespace
}  // namespace kernels

/// Items of each table row (e.g. atoms of each atomic number), in item order: the CSR of an embedding's backward.
inline void rows_of(const std::vector<std::uint32_t>& idx, std::size_t table_rows, std::vector<int>& offset,
                    std::vector<int>& items) {
  offset.assign(table_rows + 1, 0);
  for (const auto r : idx) ++offset[r + 1];
  for (std::size_t r = 0; r < table_rows; ++r) offset[r + 1] += offset[r];
  items.resize(idx.size());
  std::vector<int> fill(offset.begin(), offset.end() - 1);
  for (std::size_t k = 0; k < idx.size(); ++k) items[static_cast<std::size_t>(fill[idx[k]]++)] = static_cast<int>(k);
}

/// y = act(x W^T + b) backward from dy (masked in place when the layer had a ReLU): accumulates dW, db
/// into the gradient blocks of @p gp, writes dx when asked.
inline void linear_backward_gpu(const blas_handle& blas, const device_parameters& P,
                                const std::map<std::string, float*>& gp, const float* x, int rows, int in,
                                const std::string& name, float* dy, int out, const float* act_out, bool relu,
                                float* dx) {
  using namespace kernels;
  if (relu) relu_mask<<<blocks_for(std::size_t(rows) * out), threads>>>(dy, act_out, std::size_t(rows) * out);
  const float one = 1.0f, zero = 0.0f;
  CONFSGM_CUDA_CHECK(cublasSgemm(blas.get(), CUBLAS_OP_N, CUBLAS_OP_T, in, out, rows, &one, x, in, dy, out, &one,
                                 gp.at(name + ".weight"), in));
  column_sums<<<blocks_for(out), threads>>>(gp.at(name + ".bias"), dy, rows, out);
  if (dx)
    CONFSGM_CUDA_CHECK(cublasSgemm(blas.get(), CUBLAS_OP_N, CUBLAS_OP_N, in, rows, out, &one, P(name + ".weight"), in,
                                   dy, out, &zero, dx, in));
}

/// The shared graph encoder with its activations kept for a backward pass (training on the GPU).
class graph_encoder_trainable {
 public:
  struct cache {
    device_buffer<float> x0, dist1, dist2, type_feat, e;
    std::vector<device_buffer<float>> h, u, conv1, conv_out;  ///< h[0..L]; per layer: MLP input, hidden, output
  };
  graph_encoder_trainable(int hidden, int layers, std::size_t atom_types, std::size_t edge_types)
      : h_(hidden), layers_(layers), atom_types_(atom_types), edge_types_(edge_types) {}

  void forward(const blas_handle& blas, const device_parameters& P, const device_graph& g, const float* d,
               const float* sigma, cache& c) const {
    using namespace kernels;
    const int E = g.edges, N = g.atoms, H = h_, L = layers_;
    c.x0.resize(std::size_t(E) * 2);
    c.dist1.resize(std::size_t(E) * H);
    c.dist2.resize(std::size_t(E) * H);
    c.type_feat.resize(std::size_t(E) * H);
    c.e.resize(std::size_t(E) * H);
    distance_input<<<blocks_for(E), threads>>>(c.x0.data(), d, sigma, E);
    linear_gpu(blas, P, c.x0.data(), E, 2, "distance_mlp.0", c.dist1.data(), H, true, nullptr);
    linear_gpu(blas, P, c.dist1.data(), E, H, "distance_mlp.1", c.dist2.data(), H, false, nullptr);
    gather_type_rows<<<blocks_for(std::size_t(E) * H), threads>>>(c.type_feat.data(), P("edge_type_embedding"),
                                                                  g.edge_type.data(), E, H);
    hadamard<<<blocks_for(std::size_t(E) * H), threads>>>(c.e.data(), c.dist2.data(), c.type_feat.data(),
                                                          std::size_t(E) * H);
    c.h.resize(std::size_t(L) + 1);
    c.u.resize(std::size_t(L));
    c.conv1.resize(std::size_t(L));
    c.conv_out.resize(std::size_t(L));
    c.h[0].resize(std::size_t(N) * H);
    gather_rows<<<blocks_for(std::size_t(N) * H), threads>>>(c.h[0].data(), P("atom_embedding"), g.atom_type.data(), N, H);
    for (int l = 0; l < L; ++l) {
      const std::string name = "gine." + std::to_string(l);
      c.u[l].resize(std::size_t(N) * H);
      c.conv1[l].resize(std::size_t(N) * H);
      c.conv_out[l].resize(std::size_t(N) * H);
      c.h[l + 1].resize(std::size_t(N) * H);
      gine_aggregate<<<blocks_for(std::size_t(N) * H), threads>>>(c.u[l].data(), c.h[l].data(), c.e.data(),
                                                                 g.inc_offset.data(), g.inc_edge.data(),
                                                                 g.inc_other.data(), N, H);
      linear_gpu(blas, P, c.u[l].data(), N, H, name + ".0", c.conv1[l].data(), H, true, nullptr);
      linear_gpu(blas, P, c.conv1[l].data(), N, H, name + ".1", c.conv_out[l].data(), H, l + 1 < L, nullptr);
      // h^{l+1} = h^l + conv_out, as the CPU adds them (the ReLU mask needs conv_out itself).
      CONFSGM_CUDA_CHECK(cudaMemcpy(c.h[l + 1].data(), c.h[l].data(), sizeof(float) * N * H, cudaMemcpyDeviceToDevice));
      const float one = 1.0f;
      CONFSGM_CUDA_CHECK(cublasSaxpy(blas.get(), N * H, &one, c.conv_out[l].data(), 1, c.h[l + 1].data(), 1));
    }
  }
  const float* atoms(const cache& c) const { return c.h.back().data(); }
  const float* edges(const cache& c) const { return c.e.data(); }

  /// Parameter gradients from dh (N x H) and de (E x H), both consumed.
  void backward(const blas_handle& blas, const device_parameters& P, const std::map<std::string, float*>& gp,
                const device_graph& g, const std::vector<std::uint32_t>& atom_type,
                const std::vector<std::uint32_t>& edge_type, const cache& c, device_buffer<float>& dh,
                device_buffer<float>& de) const {
    using namespace kernels;
    const int E = g.edges, N = g.atoms, H = h_, L = layers_;
    device_buffer<float> du{std::size_t(N) * H}, dc1{std::size_t(N) * H}, dout{std::size_t(N) * H};
    for (int l = L - 1; l >= 0; --l) {
      const std::string name = "gine." + std::to_string(l);
      CONFSGM_CUDA_CHECK(cudaMemcpy(dout.data(), dh.data(), sizeof(float) * N * H, cudaMemcpyDeviceToDevice));
      linear_backward_gpu(blas, P, gp, c.conv1[l].data(), N, H, name + ".1", dout.data(), H, c.conv_out[l].data(),
                          l + 1 < L, dc1.data());
      linear_backward_gpu(blas, P, gp, c.u[l].data(), N, H, name + ".0", dc1.data(), H, c.conv1[l].data(), true,
                          du.data());
      gine_backward_edges<<<blocks_for(std::size_t(E) * H), threads>>>(de.data(), du.data(), c.h[l].data(), c.e.data(),
                                                                      g.edge_i.data(), g.edge_j.data(),
                                                                      g.inc_offset.data(), E, H);
      gine_backward_atoms<<<blocks_for(std::size_t(N) * H), threads>>>(dh.data(), du.data(), c.h[l].data(), c.e.data(),
                                                                      g.inc_offset.data(), g.inc_edge.data(),
                                                                      g.inc_other.data(), N, H);
    }
    std::vector<int> off, items;
    rows_of(atom_type, atom_types_, off, items);
    device_buffer<int> aoff(off), aitems(items);
    embedding_backward<<<blocks_for(atom_types_ * std::size_t(H)), threads>>>(gp.at("atom_embedding"), dh.data(),
                                                                             aoff.data(), aitems.data(),
                                                                             int(atom_types_), H);
    rows_of(edge_type, edge_types_, off, items);
    device_buffer<int> eoff(off), eitems(items);
    device_buffer<float> dtype{std::size_t(E) * H}, ddist{std::size_t(E) * H}, dd1{std::size_t(E) * H};
    hadamard<<<blocks_for(std::size_t(E) * H), threads>>>(dtype.data(), de.data(), c.dist2.data(), std::size_t(E) * H);
    hadamard<<<blocks_for(std::size_t(E) * H), threads>>>(ddist.data(), de.data(), c.type_feat.data(), std::size_t(E) * H);
    embedding_backward<<<blocks_for(edge_types_ * std::size_t(H)), threads>>>(gp.at("edge_type_embedding"), dtype.data(),
                                                                             eoff.data(), eitems.data(),
                                                                             int(edge_types_), H);
    linear_backward_gpu(blas, P, gp, c.dist1.data(), E, H, "distance_mlp.1", ddist.data(), H, nullptr, false, dd1.data());
    linear_backward_gpu(blas, P, gp, c.x0.data(), E, 2, "distance_mlp.0", dd1.data(), H, c.dist1.data(), true, nullptr);
  }

 private:
  int h_, layers_;
  std::size_t atom_types_, edge_types_;
};

/// Gradient blocks of a device gradient vector, by parameter name.
inline std::map<std::string, float*> gradient_blocks(const model::parameter_layout& layout, device_buffer<float>& G) {
  std::map<std::string, float*> gp;
  for (const auto& blk : layout.blocks()) gp[blk.name] = G.data() + blk.offset;
  return gp;
}

/// A network's pass with host parameters: they go up into the cache's own device copy (kept for the next call).
template <class Cache>
const device_parameters& upload_parameters(Cache& c, const model::parameter_layout& layout,
                                           const model::parameter_vector<float>& p, const char* network) {
  if (p.size() != layout.size())
    throw shape_mismatch(std::string(network) + "::forward(): " + std::to_string(p.size()) +
                         " parameters for a network of " + std::to_string(layout.size()));
  if (c.uploaded) c.uploaded->upload(p);
  else c.uploaded = std::make_unique<device_parameters>(layout, p);
  return *c.uploaded;
}

/// A backward pass into a host gradient through the device one (@p device_backward(P, G)): a zeroed device
/// gradient, filled, added to @p grad.
template <class Cache, class DeviceBackward>
void backward_to_host(const Cache& c, std::size_t parameters, model::parameter_vector<float>& grad,
                      const char* network, const DeviceBackward& device_backward) {
  if (!c.p) throw shape_mismatch(std::string(network) + "::backward(): no matching forward pass");
  if (grad.size() != parameters) grad.assign(parameters, 0.0f);
  device_buffer<float> G{parameters};
  G.zero();
  device_backward(*c.p, G);
  const auto host = G.download();
  for (std::size_t k = 0; k < host.size(); ++k) grad[k] += host[k];
}

/// What every device backward checks first: its forward pass ran (@p forward_matches, with the same parameters)
/// and the gradient @p G holds one value per parameter.
inline void check_backward(bool forward_matches, const device_buffer<float>& G, std::size_t parameters,
                           const char* network) {
  if (!forward_matches) throw shape_mismatch(std::string(network) + "::backward(): no matching forward pass");
  if (G.size() != parameters)
    throw shape_mismatch(std::string(network) + "::backward(): a gradient of " + std::to_string(G.size()) +
                         " values for " + std::to_string(parameters) + " parameters");
}

/// The distance network, trainable on the GPU, with the CPU network's interface.
class distance_network_trainable {
 public:
  using scalar_type = float;
  using space_type = distance_space;
  using batch_type = model::graph_batch;
  using vec = std::vector<float>;
  using params = model::parameter_vector<float>;
  using execution_space = backend::cuda_device;  ///< the trainer keeps its state on the device (adam.cuh)
  static std::string kind() { return model::distance_score_network<float>::kind(); }  // same model files

  explicit distance_network_trainable(model::distance_network_config cfg = {}, bool tf32 = false)
      : cpu_(cfg), encoder_(static_cast<int>(cfg.hidden), static_cast<int>(cfg.layers), cfg.atom_types, cfg.edge_types) {
    require_device();
    device_ = current_device();
    blas_ = blas_pool::make(tf32);
  }
  /// The device the network runs on: the calling thread's when it was made.
  int device() const noexcept { return device_; }
  const model::distance_network_config& config() const noexcept { return cpu_.config(); }
  const model::parameter_layout& layout() const noexcept { return cpu_.layout(); }
  std::size_t num_parameters() const noexcept { return cpu_.num_parameters(); }
  params initial_parameters(std::uint64_t seed) const { return cpu_.initial_parameters(seed); }
  double forward_flops(std::size_t atoms, std::size_t edges) const noexcept { return cpu_.forward_flops(atoms, edges); }

  /// Device state of one forward pass, kept for its backward pass.
  struct cache {
    blas_pool::lease blas;
    const device_parameters* p = nullptr;     ///< the parameters of the pass: the caller's or `uploaded`
    std::unique_ptr<device_parameters> uploaded;  ///< host parameters sent up by this cache's last pass
    std::unique_ptr<device_graph> g;
    graph_encoder_trainable::cache enc;
    device_buffer<float> d, sigma, q, head1, head2, o;
  };

  /// Forward pass with host parameters (uploaded into the cache).
  void forward(const params& p, const model::graph_batch& b, const vec& d, const vec& sigma, cache& c, vec& score) const {
    use_device(device_);
    forward(upload_parameters(c, layout(), p, "distance_network_trainable"), b, d, sigma, c, score);
  }

  /// Forward pass with parameters already on the device (the trainer's state); @p P must outlive the backward pass.
  void forward(const device_parameters& P, const model::graph_batch& b, const vec& d, const vec& sigma, cache& c,
               vec& score) const {
    using namespace kernels;
    if (d.size() != b.num_edges() || sigma.size() != b.num_edges() || P.size() != num_parameters())
      throw shape_mismatch("distance_network_trainable::forward(): " + std::to_string(d.size()) + " distances, " +
                           std::to_string(sigma.size()) + " sigmas, " + std::to_string(P.size()) + " parameters for " +
                           std::to_string(b.num_edges()) + " edges");
    check_types(b.atom_type, b.edge_type);
    use_device(device_);
    if (!c.blas) c.blas = blas_->acquire();
    c.p = &P;
    c.g = std::make_unique<device_graph>(b);
    const auto& g = *c.g;
    const int E = g.edges, H = static_cast<int>(config().hidden);
    c.d.upload(d);
    c.sigma.upload(sigma);
    encoder_.forward(*c.blas, P, g, c.d.data(), c.sigma.data(), c.enc);
    c.q.resize(std::size_t(E) * 2 * H);
    c.head1.resize(std::size_t(E) * H);
    c.head2.resize(std::size_t(E) * (H / 2));
    c.o.resize(std::size_t(E));
    head_input<<<blocks_for(std::size_t(E) * 2 * H), threads>>>(c.q.data(), encoder_.atoms(c.enc), encoder_.edges(c.enc),
                                                                g.edge_i.data(), g.edge_j.data(), E, H);
    linear_gpu(*c.blas, P, c.q.data(), E, 2 * H, "edge_head.0", c.head1.data(), H, true, nullptr);
    linear_gpu(*c.blas, P, c.head1.data(), E, H, "edge_head.1", c.head2.data(), H / 2, true, nullptr);
    linear_gpu(*c.blas, P, c.head2.data(), E, H / 2, "edge_head.2", c.o.data(), 1, false, nullptr);
    device_buffer<float> s{std::size_t(E)};
    divide<<<blocks_for(E), threads>>>(s.data(), c.o.data(), c.sigma.data(), E);
    CONFSGM_CUDA_CHECK_LAUNCH("distance_network_trainable::forward kernels");
    score.resize(std::size_t(E));
    s.download(score.data(), score.size());
  }

  /// Accumulates d(loss)/d(parameters) into the host vector @p grad given d(loss)/d(score).
  void backward(const params&, const model::graph_batch& b, const cache& c, const vec& d_score, params& grad,
                vec* d_distance = nullptr) const {
    if (d_distance) throw invalid_argument("distance_network_trainable::backward(): input gradients are CPU-only");
    use_device(device_);
    backward_to_host(c, num_parameters(), grad, "distance_network_trainable",
                     [&](const device_parameters& P, device_buffer<float>& G) { backward(P, b, c, d_score, G); });
  }

  /// Accumulates d(loss)/d(parameters) into the device gradient @p G (the trainer's slot) given d(loss)/d(score).
  void backward(const device_parameters& P, const model::graph_batch& b, const cache& c, const vec& d_score,
                device_buffer<float>& G) const {
    using namespace kernels;
    check_backward(c.g && c.p == &P && d_score.size() == b.num_edges(), G, num_parameters(),
                   "distance_network_trainable");
    use_device(device_);
    const auto& g = *c.g;
    const auto& blas = *c.blas;
    const int E = g.edges, N = g.atoms, H = static_cast<int>(config().hidden);
    const auto gp = gradient_blocks(layout(), G);
    device_buffer<float> ds{d_score}, dO{std::size_t(E)}, d2{std::size_t(E) * (H / 2)}, d1{std::size_t(E) * H},
        dq{std::size_t(E) * 2 * H}, dh{std::size_t(N) * H}, de{std::size_t(E) * H};
    scale_by_inverse<<<blocks_for(E), threads>>>(dO.data(), ds.data(), c.sigma.data(), E);
    linear_backward_gpu(blas, P, gp, c.head2.data(), E, H / 2, "edge_head.2", dO.data(), 1, nullptr, false, d2.data());
    linear_backward_gpu(blas, P, gp, c.head1.data(), E, H, "edge_head.1", d2.data(), H / 2, c.head2.data(), true,
                        d1.data());
    linear_backward_gpu(blas, P, gp, c.q.data(), E, 2 * H, "edge_head.0", d1.data(), H, c.head1.data(), true, dq.data());
    head_input_backward<<<blocks_for(std::size_t(std::max(N, E)) * H), threads>>>(
        dh.data(), de.data(), dq.data(), encoder_.atoms(c.enc), g.inc_offset.data(), g.inc_edge.data(),
        g.inc_other.data(), N, E, H);
    encoder_.backward(blas, P, gp, g, b.atom_type, b.edge_type, c.enc, dh, de);
    CONFSGM_CUDA_CHECK_LAUNCH("distance_network_trainable::backward kernels");
  }

 private:
  void check_types(const std::vector<std::uint32_t>& atom_type, const std::vector<std::uint32_t>& edge_type) const {
    for (const auto t : atom_type)
      if (t >= config().atom_types)
        throw invalid_argument("distance_network_trainable: atom type " + std::to_string(t) + " outside the embedding");
    for (const auto t : edge_type)
      if (t >= config().edge_types)
        throw invalid_argument("distance_network_trainable: edge type " + std::to_string(t) + " outside the embedding");
  }
  model::distance_score_network<float> cpu_;
  graph_encoder_trainable encoder_;
  int device_ = 0;
  std::shared_ptr<blas_pool> blas_;  ///< shared by copies of the network (handles belong to device_)
};

}  // namespace confsgm::cuda
