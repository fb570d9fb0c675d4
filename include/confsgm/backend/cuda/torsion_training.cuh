// confsgm/backend/cuda/torsion_training.cuh: the torsion-space score network
// with forward and backward passes on the GPU behind the CPU network's
// interface, so the trainer runs unchanged:
//
//   train::dsm_trainer<cuda::torsion_network_trainable, log_uniform_schedule, input_perturbation> t(...);
//
// The pair list is topological (device_torsion_batch); pairs beyond the cutoff
// carry weight 0, so their rows add exact zeros to every gradient. Reductions
// are deterministic: per pair over its terms in torsion order, per atom over
// its pairs in pair order (the CPU network's orders). As the distance network, it
// takes host parameters or the trainer's device state (distance_training.cuh).
#pragma once

#include "confsgm/backend/cuda/distance_training.cuh"
#include "confsgm/backend/cuda/torsion_sampler.cuh"

namespace confsgm::cuda {

namespace kernels {
// Internal linkage: a program may include these headers from several .cu files.
namespace {

/// Term weights envelope * d(d)/d(theta) and the per-torsion coefficient scale_t / sqrt(n_t), for the backward pass.
__global__ void torsion_terms(double* weight, double* coefficient, const double* x, const int* term_offset,
                              const int* term_moving_atom, const int* term_fixed_atom, const int* t_fixed,
                              const int* t_moving, const double* scale, int torsions, double cutoff) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= torsions) return;
  const double* pivot;
  double axis[3];
  torsion_frame(x, t_fixed[t], t_moving[t], pivot, axis);
  double count = 0;  // sum of envelopes (the CPU's n_t)
  for (int q = term_offset[t]; q < term_offset[t + 1]; ++q) {
    double env;
    if (!torsion_term(x, pivot, axis, term_moving_atom[q], term_fixed_atom[q], cutoff, env, weight[q])) {
      weight[q] = 0.0;
      continue;
    }
    count += env;
  }
  coefficient[t] = scale[t] / sqrt(count > 1.0 ? count : 1.0);
}

/// df_p = sum over p's terms (torsion order) of float(d_score_t * coefficient_t * weight).
__global__ void pair_output_gradient(float* df, const float* d_score, const double* coefficient, const double* weight,
                                     const int* pair_term_offset, const int* pair_terms, const int* term_torsion,
                                     int pairs) {
  const int p = blockIdx.x * blockDim.x + threadIdx.x;
  if (p >= pairs) return;
  float acc = 0.0f;
  for (int q = pair_term_offset[p]; q < pair_term_offset[p + 1]; ++q) {
    const int term = pair_terms[q], t = term_torsion[term];
    acc += static_cast<float>(static_cast<double>(d_score[t]) * coefficient[t] * weight[term]);
  }
  df[p] = acc;
}

/// dh_v = sum over v's pairs (pair order) of d_in[:H] + d_in[H:2H] * h_other.
__global__ void pair_features_backward(float* dh, const float* d_in, const float* h, const int* atom_pair_offset,
                                       const int* atom_pairs, const int* atom_pair_other, int atoms, int hidden,
                                       int cols) {
  const std::size_t t = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (t >= std::size_t(atoms) * hidden) return;
  const int v = static_cast<int>(t / hidden), f = static_cast<int>(t % hidden);
  float acc = 0.0f;
  for (int q = atom_pair_offset[v]; q < atom_pair_offset[v + 1]; ++q) {
    const float* row = d_in + std::size_t(atom_pairs[q]) * cols;
    acc += row[f] + row[hidden + f] * h[std::size_t(atom_pair_other[q]) * hidden + f];
  }
  dh[t] = acc;
}

}  // namespace
}  // namespace kernels

/// The torsion network, trainable on the GPU, with the CPU network's interface.
class torsion_network_trainable {
 public:
  using scalar_type = float;
  using space_type = torsion_space;
  using batch_type = model::torsion_batch;
  using vec = std::vector<float>;
  using params = model::parameter_vector<float>;
  using execution_space = backend::cuda_device;  ///< the trainer keeps its state on the device (adam.cuh)
  static std::string kind() { return model::torsion_score_network<float>::kind(); }  // same model files

  explicit torsion_network_trainable(model::torsion_network_config cfg = {}, bool tf32 = false)
      : cpu_(cfg), encoder_(static_cast<int>(cfg.hidden), static_cast<int>(cfg.layers), cfg.atom_types, cfg.edge_types) {
    require_device();
    device_ = current_device();
    blas_ = blas_pool::make(tf32);
  }
  /// The device the network runs on: the calling thread's when it was made.
  int device() const noexcept { return device_; }
  const model::torsion_network_config& config() const noexcept { return cpu_.config(); }
  const model::parameter_layout& layout() const noexcept { return cpu_.layout(); }
  std::size_t num_parameters() const noexcept { return cpu_.num_parameters(); }
  params initial_parameters(std::uint64_t seed) const { return cpu_.initial_parameters(seed); }
  std::map<std::string, std::string> header_entries() const { return cpu_.header_entries(); }

  struct cache {
    blas_pool::lease blas;
    const device_parameters* p = nullptr;         ///< the parameters of the pass: the caller's or `uploaded`
    std::unique_ptr<device_parameters> uploaded;  ///< host parameters sent up by this cache's last pass
    std::unique_ptr<device_torsion_batch> b;
    graph_encoder_trainable::cache enc;
    device_buffer<double> theta, torsion_scale, weight, coefficient;
    device_buffer<float> d, edge_sigma, pair_log_sigma, pin, t1, t2, f;
    device_buffer<int> pair_term_offset, pair_terms, term_torsion, atom_pair_offset, atom_pairs, atom_pair_other;
  };

  /// Forward pass with host parameters (uploaded into the cache).
  void forward(const params& p, const model::torsion_batch& b, const vec& theta, const vec& sigma, cache& c,
               vec& score) const {
    use_device(device_);
    forward(upload_parameters(c, layout(), p, "torsion_network_trainable"), b, theta, sigma, c, score);
  }

  /// Forward pass with parameters already on the device (the trainer's state); @p P must outlive the backward pass.
  void forward(const device_parameters& P, const model::torsion_batch& b, const vec& theta, const vec& sigma, cache& c,
               vec& score) const {
    using namespace kernels;
    if (theta.size() != b.num_torsions() || sigma.size() != b.num_torsions() || P.size() != num_parameters())
      throw shape_mismatch("torsion_network_trainable::forward(): " + std::to_string(theta.size()) + " angles, " +
                           std::to_string(sigma.size()) + " sigmas, " + std::to_string(P.size()) + " parameters for " +
                           std::to_string(b.num_torsions()) + " torsions");
    for (const auto t : b.atom_type)
      if (t >= config().atom_types) throw invalid_argument("torsion_network_trainable: atom type outside the embedding");
    for (const auto t : b.edge_type)
      if (t >= config().edge_types) throw invalid_argument("torsion_network_trainable: edge type outside the embedding");
    use_device(device_);
    if (!c.blas) c.blas = blas_->acquire();
    c.p = &P;
    c.b = std::make_unique<device_torsion_batch>(b.members);
    auto& db = *c.b;
    const int H = static_cast<int>(config().hidden), R = static_cast<int>(config().radial);
    const int cols = 2 * H + R + 1, half = H / 2 > 0 ? H / 2 : 1;
    // Host tables: sigma per edge, per pair (log) and per torsion (output scale); the backward CSRs.
    std::vector<float> es, pls;
    std::vector<double> ts(b.num_torsions());
    const auto& psample = db.host_pair_sample;  // the batch keeps a host copy: no device read
    for (std::size_t g = 0; g < b.num_graphs(); ++g)
      es.insert(es.end(), b.edge_offset[g + 1] - b.edge_offset[g], sigma[b.torsion_offset[g]]);
    for (const int s : psample)
      pls.push_back(static_cast<float>(std::log(static_cast<double>(sigma[b.torsion_offset[static_cast<std::size_t>(s)]]))));
    for (std::size_t t = 0; t < ts.size(); ++t)
      ts[t] = model::torsion_score_network<float>::score_scale(static_cast<double>(sigma[t]));
    build_backward_tables(db, c);
    c.theta.upload(std::vector<double>(theta.begin(), theta.end()));
    c.edge_sigma.upload(es);
    c.pair_log_sigma.upload(pls);
    c.torsion_scale.upload(ts);
    torsion_coordinates<<<db.samples, 64>>>(db.x.data(), db.local.data(), c.theta.data(), db.local_theta.data(),
                                            db.sample_atom_offset.data(), db.sample_torsion_offset.data(),
                                            db.t_fixed.data(), db.t_moving.data(), db.side_offset.data(), db.side.data());
    c.d.resize(std::size_t(db.graph.edges));
    device_buffer<float> scratch{std::size_t(db.graph.edges)};
    pair_distances<<<blocks_for(db.graph.edges), threads>>>(c.d.data(), scratch.data(), db.x.data(), db.graph.edge_i.data(),
                                                            db.graph.edge_j.data(), db.graph.edges, 0.0f);
    encoder_.forward(*c.blas, P, db.graph, c.d.data(), c.edge_sigma.data(), c.enc);
    c.pin.resize(std::size_t(db.pairs) * cols);
    c.t1.resize(std::size_t(db.pairs) * H);
    c.t2.resize(std::size_t(db.pairs) * half);
    c.f.resize(std::size_t(db.pairs));
    pair_features<<<blocks_for(std::size_t(db.pairs) * cols), threads>>>(c.pin.data(), encoder_.atoms(c.enc), db.x.data(),
                                                                        db.pair_i.data(), db.pair_j.data(),
                                                                        c.pair_log_sigma.data(), db.pairs, H, R,
                                                                        config().cutoff);
    linear_gpu(*c.blas, P, c.pin.data(), db.pairs, cols, "pair_mlp.0", c.t1.data(), H, true, nullptr);
    linear_gpu(*c.blas, P, c.t1.data(), db.pairs, H, "pair_mlp.1", c.t2.data(), half, true, nullptr);
    linear_gpu(*c.blas, P, c.t2.data(), db.pairs, half, "pair_mlp.2", c.f.data(), 1, false, nullptr);
    c.weight.resize(c.term_torsion.size());
    c.coefficient.resize(std::size_t(db.torsions));
    torsion_terms<<<blocks_for(db.torsions), threads>>>(c.weight.data(), c.coefficient.data(), db.x.data(),
                                                        db.term_offset.data(), db.term_moving_atom.data(),
                                                        db.term_fixed_atom.data(), db.t_fixed.data(), db.t_moving.data(),
                                                        c.torsion_scale.data(), db.torsions, config().cutoff);
    device_buffer<float> s{std::size_t(db.torsions)};
    torsion_torque<<<blocks_for(db.torsions), threads>>>(s.data(), c.f.data(), db.x.data(), db.term_offset.data(),
                                                        db.term_pair.data(), db.term_moving_atom.data(),
                                                        db.term_fixed_atom.data(), db.t_fixed.data(), db.t_moving.data(),
                                                        c.torsion_scale.data(), db.torsions, config().cutoff);
    CONFSGM_CUDA_CHECK_LAUNCH("torsion_network_trainable::forward kernels");
    score.resize(b.num_torsions());
    s.download(score.data(), score.size());
  }

  /// Accumulates d(loss)/d(parameters) into the host vector @p grad given d(loss)/d(score).
  void backward(const params&, const model::torsion_batch& b, const cache& c, const vec& d_score, params& grad) const {
    use_device(device_);
    backward_to_host(c, num_parameters(), grad, "torsion_network_trainable",
                     [&](const device_parameters& P, device_buffer<float>& G) { backward(P, b, c, d_score, G); });
  }

  /// Accumulates d(loss)/d(parameters) into the device gradient @p G (the trainer's slot) given d(loss)/d(score).
  void backward(const device_parameters& P, const model::torsion_batch& b, const cache& c, const vec& d_score,
                device_buffer<float>& G) const {
    using namespace kernels;
    check_backward(c.b && c.p == &P && d_score.size() == b.num_torsions(), G, num_parameters(),
                   "torsion_network_trainable");
    use_device(device_);
    const auto& db = *c.b;
    const auto& blas = *c.blas;
    const int H = static_cast<int>(config().hidden), R = static_cast<int>(config().radial);
    const int cols = 2 * H + R + 1, half = H / 2 > 0 ? H / 2 : 1;
    const auto gp = gradient_blocks(layout(), G);
    device_buffer<float> ds{d_score}, df{std::size_t(db.pairs)}, d2{std::size_t(db.pairs) * half},
        d1{std::size_t(db.pairs) * H}, din{std::size_t(db.pairs) * cols}, dh{std::size_t(db.atoms) * H},
        de{std::size_t(db.graph.edges) * H};
    pair_output_gradient<<<blocks_for(db.pairs), threads>>>(df.data(), ds.data(), c.coefficient.data(), c.weight.data(),
                                                           c.pair_term_offset.data(), c.pair_terms.data(),
                                                           c.term_torsion.data(), db.pairs);
    linear_backward_gpu(blas, P, gp, c.t2.data(), db.pairs, half, "pair_mlp.2", df.data(), 1, nullptr, false, d2.data());
    linear_backward_gpu(blas, P, gp, c.t1.data(), db.pairs, H, "pair_mlp.1", d2.data(), half, c.t2.data(), true,
                        d1.data());
    linear_backward_gpu(blas, P, gp, c.pin.data(), db.pairs, cols, "pair_mlp.0", d1.data(), H, c.t1.data(), true,
                        din.data());
    pair_features_backward<<<blocks_for(std::size_t(db.atoms) * H), threads>>>(
        dh.data(), din.data(), encoder_.atoms(c.enc), c.atom_pair_offset.data(), c.atom_pairs.data(),
        c.atom_pair_other.data(), db.atoms, H, cols);
    de.zero();
    encoder_.backward(blas, P, gp, db.graph, b.atom_type, b.edge_type, c.enc, dh, de);
    CONFSGM_CUDA_CHECK_LAUNCH("torsion_network_trainable::backward kernels");
  }

 private:
  /// pair -> its terms (torsion order), term -> torsion, atom -> its pairs (pair order) with the other atom.
  static void build_backward_tables(const device_torsion_batch& db, cache& c) {
    const auto toff = db.term_offset.download(), tpair = db.term_pair.download();
    const auto pi = db.pair_i.download(), pj = db.pair_j.download();
    std::vector<int> term_torsion(tpair.size());
    for (std::size_t t = 0; t + 1 < toff.size(); ++t)
      for (int q = toff[t]; q < toff[t + 1]; ++q) term_torsion[static_cast<std::size_t>(q)] = static_cast<int>(t);
    std::vector<int> poff(pi.size() + 1, 0), pterms(tpair.size());
    for (const int p : tpair) ++poff[static_cast<std::size_t>(p) + 1];
    for (std::size_t p = 0; p < pi.size(); ++p) poff[p + 1] += poff[p];
    std::vector<int> fill(poff.begin(), poff.end() - 1);
    for (std::size_t q = 0; q < tpair.size(); ++q)  // terms are torsion-major: each pair's list comes out in torsion order
      pterms[static_cast<std::size_t>(fill[static_cast<std::size_t>(tpair[q])]++)] = static_cast<int>(q);
    std::vector<int> aoff(static_cast<std::size_t>(db.atoms) + 1, 0), apairs, aother;
    for (std::size_t p = 0; p < pi.size(); ++p) {
      ++aoff[static_cast<std::size_t>(pi[p]) + 1];
      ++aoff[static_cast<std::size_t>(pj[p]) + 1];
    }
    for (int v = 0; v < db.atoms; ++v) aoff[v + 1] += aoff[v];
    apairs.resize(static_cast<std::size_t>(aoff.back()));
    aother.resize(apairs.size());
    std::vector<int> afill(aoff.begin(), aoff.end() - 1);
    for (std::size_t p = 0; p < pi.size(); ++p) {
      apairs[static_cast<std::size_t>(afill[pi[p]])] = static_cast<int>(p);
      aother[static_cast<std::size_t>(afill[pi[p]]++)] = pj[p];
      apairs[static_cast<std::size_t>(afill[pj[p]])] = static_cast<int>(p);
      aother[static_cast<std::size_t>(afill[pj[p]]++)] = pi[p];
    }
    c.pair_term_offset.upload(poff);
    c.pair_terms.upload(pterms);
    c.term_torsion.upload(term_torsion);
    c.atom_pair_offset.upload(aoff);
    c.atom_pairs.upload(apairs);
    c.atom_pair_other.upload(aother);
  }

  model::torsion_score_network<float> cpu_;
  graph_encoder_trainable encoder_;
  int device_ = 0;
  std::shared_ptr<blas_pool> blas_;  ///< shared by copies of the network (handles belong to device_)
};

}  // namespace confsgm::cuda
