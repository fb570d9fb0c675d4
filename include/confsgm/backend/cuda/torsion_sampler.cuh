// confsgm/backend/cuda/torsion_sampler.cuh: the torsion-space score network
// (model/torsion_score_network.hpp), forward pass, and the torus samplers
// (sample/torus_sampler.hpp: reverse SDE, probability-flow ODE, annealed
// Langevin) with all state on the GPU. Operation for operation as on the CPU:
// coordinates rebuilt from the dihedrals (float inputs, double geometry, the
// same Rodrigues matrix), the shared graph encoder, the pair MLP over the pairs
// across rotatable bonds within the cutoff, the torque sum per torsion in pair
// order, and noise from the same Philox stream at the same index.
//
// The pairs across each torsion are topological, so they are listed once per
// batch; a pair outside the cutoff gets envelope 0 and is not counted in n_t,
// which is what the CPU network's geometric pair filter amounts to.
#pragma once

#include "confsgm/backend/cuda/distance_network.cuh"
#include "confsgm/backend/cuda/langevin.cuh"
#include "confsgm/model/torsion_score_network.hpp"
#include "confsgm/sample/torus_sampler.hpp"

#include <atomic>
#include <limits>
#include <mutex>

namespace confsgm::cuda {

namespace kernels {
// Internal linkage: a program may include these headers from several .cu files.
namespace {

__device__ inline double wrap_angle(double x) {
  constexpr double pi = 3.141592653589793, two_pi = 6.283185307179586;
  double y = fmod(x + pi, two_pi);
  if (y < 0) y += two_pi;
  return y - pi;
}

/// One block per sample: local structure, then each torsion's increment applied in order.
__global__ void torsion_coordinates(double* x, const double* local, const double* theta, const double* local_theta,
                                    const int* sample_atom_offset, const int* sample_torsion_offset,
                                    const int* t_fixed, const int* t_moving, const int* side_offset, const int* side) {
  const int c = blockIdx.x;
  const int a0 = sample_atom_offset[c], a1 = sample_atom_offset[c + 1];
  for (int a = a0 + threadIdx.x; a < a1; a += blockDim.x)
    for (int k = 0; k < 3; ++k) x[3 * a + k] = local[3 * a + k];
  __syncthreads();
  for (int t = sample_torsion_offset[c]; t < sample_torsion_offset[c + 1]; ++t) {
    // The network sees float dihedrals (as the CPU sampler hands it).
    const double inc = wrap_angle(static_cast<double>(static_cast<float>(theta[t])) - local_theta[t]);
    if (inc == 0.0) continue;  // uniform across the block: every thread skips together
    const double* o = x + 3 * t_moving[t];
    const double* f = x + 3 * t_fixed[t];
    double ax[3] = {o[0] - f[0], o[1] - f[1], o[2] - f[2]};
    const double nrm = sqrt(ax[0] * ax[0] + ax[1] * ax[1] + ax[2] * ax[2]);
    for (double& v : ax) v /= nrm;
    // Eigen's AngleAxis::toRotationMatrix, term for term.
    const double s = sin(inc), cs = cos(inc);
    const double sa[3] = {s * ax[0], s * ax[1], s * ax[2]}, ca[3] = {(1 - cs) * ax[0], (1 - cs) * ax[1], (1 - cs) * ax[2]};
    double R[3][3];
    R[0][1] = ca[0] * ax[1] - sa[2];
    R[1][0] = ca[0] * ax[1] + sa[2];
    R[0][2] = ca[0] * ax[2] + sa[1];
    R[2][0] = ca[0] * ax[2] - sa[1];
    R[1][2] = ca[1] * ax[2] - sa[0];
    R[2][1] = ca[1] * ax[2] + sa[0];
    for (int k = 0; k < 3; ++k) R[k][k] = ca[k] * ax[k] + cs;
    const double origin[3] = {o[0], o[1], o[2]};
    __syncthreads();  // everyone has read the axis before the moving end itself moves
    for (int q = side_offset[t] + threadIdx.x; q < side_offset[t + 1]; q += blockDim.x) {
      double* p = x + 3 * side[q];
      const double v[3] = {p[0] - origin[0], p[1] - origin[1], p[2] - origin[2]};
      for (int k = 0; k < 3; ++k) p[k] = R[k][0] * v[0] + R[k][1] * v[1] + R[k][2] * v[2] + origin[k];
    }
    __syncthreads();
  }
}

/// Pair features [h_i + h_j, h_i * h_j, rbf(d), log sigma] for every listed pair.
__global__ void pair_features(float* out, const float* h, const double* x, const int* pi, const int* pj,
                              const float* pair_log_sigma, int pairs, int hidden, int radial, double cutoff) {
  const std::size_t t = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  const int cols = 2 * hidden + radial + 1;
  if (t >= std::size_t(pairs) * cols) return;
  const int q = static_cast<int>(t / cols), f = static_cast<int>(t % cols);
  const int i = pi[q], j = pj[q];
  float v;
  if (f < hidden) {
    v = h[std::size_t(i) * hidden + f] + h[std::size_t(j) * hidden + f];
  } else if (f < 2 * hidden) {
    v = h[std::size_t(i) * hidden + f - hidden] * h[std::size_t(j) * hidden + f - hidden];
  } else if (f < 2 * hidden + radial) {
    const double dx = x[3 * j] - x[3 * i], dy = x[3 * j + 1] - x[3 * i + 1], dz = x[3 * j + 2] - x[3 * i + 2];
    const double d = sqrt(dx * dx + dy * dy + dz * dz);
    const double width = cutoff / static_cast<double>(radial - 1);
    const double z = (d - width * static_cast<double>(f - 2 * hidden)) / width;
    v = static_cast<float>(exp(-0.5 * z * z));
  } else {
    v = pair_log_sigma[q];
  }
  out[t] = v;
}

/// Torsion t's rotation frame: the pivot (its moving bond atom) and the unit axis from the fixed atom to it.
__device__ inline void torsion_frame(const double* x, int fixed_atom, int moving_atom, const double*& pivot,
                                     double axis[3]) {
  pivot = x + 3 * moving_atom;
  const double* fx = x + 3 * fixed_atom;
  for (int k = 0; k < 3; ++k) axis[k] = pivot[k] - fx[k];
  const double nrm = sqrt(axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]);
  for (int k = 0; k < 3; ++k) axis[k] /= nrm;
}

/// One (pair, torsion) term: the envelope of the pair distance and the weight envelope * d(d)/d(theta) (as the
/// CPU's contribution::weight). False when the pair is outside the cutoff: the term then contributes nothing.
__device__ inline bool torsion_term(const double* x, const double* pivot, const double axis[3], int moving_atom,
                                    int fixed_atom, double cutoff, double& envelope, double& weight) {
  const double* xm = x + 3 * moving_atom;
  const double* xf = x + 3 * fixed_atom;
  const double r[3] = {xm[0] - xf[0], xm[1] - xf[1], xm[2] - xf[2]};
  const double d = sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
  if (!(d < cutoff) || !(d > 0)) return false;
  envelope = 0.5 * (cos(3.141592653589793 * d / cutoff) + 1.0);
  const double rm[3] = {xm[0] - pivot[0], xm[1] - pivot[1], xm[2] - pivot[2]};
  // Velocity of the moving atom per unit rotation, projected on the pair direction.
  const double dm[3] = {axis[1] * rm[2] - axis[2] * rm[1], axis[2] * rm[0] - axis[0] * rm[2],
                        axis[0] * rm[1] - axis[1] * rm[0]};
  weight = envelope * ((r[0] * dm[0] + r[1] * dm[1] + r[2] * dm[2]) / d);
  return true;
}

/// s_t = scale_t / sqrt(n_t) * sum over t's terms (pair order) of f_pair * envelope * d(d)/d(theta_t).
__global__ void torsion_torque(float* score, const float* f, const double* x, const int* term_offset,
                               const int* term_pair, const int* term_moving_atom, const int* term_fixed_atom,
                               const int* t_fixed, const int* t_moving, const double* scale, int torsions,
                               double cutoff) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= torsions) return;
  const double* pivot;
  double axis[3];
  torsion_frame(x, t_fixed[t], t_moving[t], pivot, axis);
  double acc = 0;
  double count = 0;  // sum of envelopes (the CPU's n_t)
  for (int q = term_offset[t]; q < term_offset[t + 1]; ++q) {
    double env, weight;
    if (!torsion_term(x, pivot, axis, term_moving_atom[q], term_fixed_atom[q], cutoff, env, weight)) continue;
    acc += static_cast<double>(f[term_pair[q]]) * weight;
    count += env;
  }
  score[t] = static_cast<float>(acc * (scale[t] / sqrt(count > 1.0 ? count : 1.0)));
}

/// One sampler update of every live torsion (one thread per torsion).
__global__ void torus_update(double* theta, const float* score, const int* torsion_sample, const int* sample_torsion_offset,
                             const std::uint32_t* sample_key, int torsions, double drift, double noise,
                             std::uint64_t seed, std::uint32_t level, std::uint32_t step, const int* dead) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= torsions) return;
  const int c = torsion_sample[t];
  if (dead[c]) return;
  const int T = sample_torsion_offset[c + 1] - sample_torsion_offset[c];
  const int local = t - sample_torsion_offset[c];
  const random::stream z(seed, random::purpose::langevin, sample_key[c], level);
  const double zt = noise > 0 ? z.normal(step * static_cast<std::uint32_t>(T) + static_cast<std::uint32_t>(local)) : 0.0;
  theta[t] = wrap_angle(theta[t] + drift * static_cast<double>(score[t]) + noise * zt);
}

}  // namespace
}  // namespace kernels

/// A batch of torsion-space samples on the device (structures must have >= 1 torsion).
struct device_torsion_batch {
  int samples = 0, atoms = 0, torsions = 0, pairs = 0;
  std::uint64_t id = 0;  ///< distinct per batch object: keys the per-batch tables networks cache
  device_graph graph;
  device_buffer<double> local, local_theta, x;
  device_buffer<int> sample_atom_offset, sample_torsion_offset, torsion_sample, t_fixed, t_moving, side_offset, side;
  device_buffer<int> pair_i, pair_j, pair_sample, term_offset, term_pair, term_moving_atom, term_fixed_atom;
  /// Host copies of the sample each edge, pair and torsion belongs to: the per-sigma tables are rebuilt from
  /// them at every noise level without reading the device.
  std::vector<int> host_edge_sample, host_pair_sample, host_torsion_sample;

  explicit device_torsion_batch(const std::vector<const torsion_structure*>& ss) {
    static std::atomic<std::uint64_t> next_id{1};
    id = next_id++;
    model::graph_batch gb;
    std::vector<double> loc, lth;
    std::vector<int> sao{0}, sto{0}, tsample, tf, tm, soff{0}, sd, pi, pj, psample;
    std::vector<std::vector<std::pair<int, std::array<int, 2>>>> per_torsion;  // (pair, {moving, fixed})
    for (std::size_t c = 0; c < ss.size(); ++c) {
      const auto& s = *ss[c];
      if (s.torsions.empty()) throw chemistry_error("device_torsion_batch: '" + s.name + "' has no rotatable bond");
      distance_structure ds;
      ds.n_atoms = s.n_atoms;
      ds.atom_type = s.atom_type;
      ds.edges = s.edges;
      ds.num_edge_types = s.num_edge_types;
      const int a0 = static_cast<int>(gb.num_atoms()), t0 = static_cast<int>(tf.size());
      gb.add(ds);
      host_edge_sample.resize(gb.num_edges(), static_cast<int>(c));
      for (Eigen::Index a = 0; a < s.local.rows(); ++a)
        for (int k = 0; k < 3; ++k) loc.push_back(s.local(a, k));
      std::vector<std::uint8_t> moves(s.torsions.size() * s.n_atoms, 0);
      for (std::size_t t = 0; t < s.torsions.size(); ++t) {
        const auto& tb = s.torsions[t];
        tf.push_back(a0 + static_cast<int>(tb.fixed));
        tm.push_back(a0 + static_cast<int>(tb.moving));
        lth.push_back(s.local_torsions[t]);
        tsample.push_back(static_cast<int>(c));
        for (const auto a : tb.side) {
          sd.push_back(a0 + static_cast<int>(a));
          moves[t * s.n_atoms + a] = 1;
        }
        soff.push_back(static_cast<int>(sd.size()));
        per_torsion.emplace_back();
      }
      for (std::uint32_t i = 0; i < s.n_atoms; ++i)  // pairs in the CPU network's order
        for (std::uint32_t j = i + 1; j < s.n_atoms; ++j) {
          bool used = false;
          for (std::size_t t = 0; t < s.torsions.size(); ++t) {
            const bool mi = moves[t * s.n_atoms + i], mj = moves[t * s.n_atoms + j];
            if (mi == mj) continue;
            const int m = a0 + static_cast<int>(mj ? j : i), f = a0 + static_cast<int>(mj ? i : j);
            per_torsion[t0 + t].push_back({static_cast<int>(pi.size()), {m, f}});
            used = true;
          }
          if (!used) continue;
          pi.push_back(a0 + static_cast<int>(i));
          pj.push_back(a0 + static_cast<int>(j));
          psample.push_back(static_cast<int>(c));
        }
      sao.push_back(static_cast<int>(gb.num_atoms()));
      sto.push_back(static_cast<int>(tf.size()));
    }
    std::vector<int> toff{0}, tp, tma, tfa;
    for (const auto& list : per_torsion) {
      for (const auto& [p, mf] : list) {
        tp.push_back(p);
        tma.push_back(mf[0]);
        tfa.push_back(mf[1]);
      }
      toff.push_back(static_cast<int>(tp.size()));
    }
    samples = static_cast<int>(ss.size());
    atoms = static_cast<int>(gb.num_atoms());
    torsions = static_cast<int>(tf.size());
    pairs = static_cast<int>(pi.size());
    graph = device_graph(gb);
    local.upload(loc);
    local_theta.upload(lth);
    x.resize(loc.size());
    sample_atom_offset.upload(sao);
    sample_torsion_offset.upload(sto);
    torsion_sample.upload(tsample);
    t_fixed.upload(tf);
    t_moving.upload(tm);
    side_offset.upload(soff);
    side.upload(sd);
    pair_i.upload(pi);
    pair_j.upload(pj);
    pair_sample.upload(psample);
    host_pair_sample = std::move(psample);
    host_torsion_sample = std::move(tsample);
    term_offset.upload(toff);
    term_pair.upload(tp);
    term_moving_atom.upload(tma);
    term_fixed_atom.upload(tfa);
  }
};

/// The torsion network's forward pass on the GPU.
class torsion_network_gpu {
 public:
  torsion_network_gpu(const model::torsion_score_network<float>& net, const model::parameter_vector<float>& p,
                      bool tf32 = false)
      : cfg_(net.config()), blas_(tf32), params_(net.layout(), p),
        encoder_(static_cast<int>(cfg_.hidden), static_cast<int>(cfg_.layers)) {}

  /// Scores (device, one float per torsion) of the dihedrals theta (device, double) at per-sample
  /// noise sigma (host, one per sample; the network sees it as float).
  void forward(device_torsion_batch& b, const double* theta, const std::vector<float>& sample_sigma, float* score) {
    using namespace kernels;
    if (sample_sigma.size() != static_cast<std::size_t>(b.samples))
      throw shape_mismatch("torsion_network_gpu::forward(): " + std::to_string(sample_sigma.size()) + " sigmas for " +
                           std::to_string(b.samples) + " samples");
    const int H = static_cast<int>(cfg_.hidden), R = static_cast<int>(cfg_.radial);
    torsion_coordinates<<<b.samples, 64>>>(b.x.data(), b.local.data(), theta, b.local_theta.data(),
                                           b.sample_atom_offset.data(), b.sample_torsion_offset.data(),
                                           b.t_fixed.data(), b.t_moving.data(), b.side_offset.data(), b.side.data());
    // Per-edge and per-pair sigma, per-torsion output scale: from the per-sample sigma.
    if (batch_key_ != b.id || sigma_key_ != sample_sigma) {  // tables belong to one batch and one set of sigmas
      build_sigma_tables(b, sample_sigma);
      batch_key_ = b.id;
      sigma_key_ = sample_sigma;
    }
    d_.resize(std::size_t(b.graph.edges));
    sig_scratch_.resize(std::size_t(b.graph.edges));
    kernels::pair_distances<<<blocks_for(b.graph.edges), threads>>>(d_.data(), sig_scratch_.data(), b.x.data(),
                                                                    b.graph.edge_i.data(), b.graph.edge_j.data(),
                                                                    b.graph.edges, 0.0f);
    encoder_.forward(blas_, params_, b.graph, d_.data(), edge_sigma_.data());
    const int cols = 2 * H + R + 1;
    pin_.resize(std::size_t(b.pairs) * cols);
    t1_.resize(std::size_t(b.pairs) * H);
    t2_.resize(std::size_t(b.pairs) * H);
    f_.resize(std::size_t(b.pairs));
    pair_features<<<blocks_for(std::size_t(b.pairs) * cols), threads>>>(pin_.data(), encoder_.atoms(), b.x.data(),
                                                                        b.pair_i.data(), b.pair_j.data(),
                                                                        pair_log_sigma_.data(), b.pairs, H, R, cfg_.cutoff);
    const int half = H / 2 > 0 ? H / 2 : 1;
    linear_gpu(blas_, params_, pin_.data(), b.pairs, cols, "pair_mlp.0", t1_.data(), H, true, nullptr);
    linear_gpu(blas_, params_, t1_.data(), b.pairs, H, "pair_mlp.1", t2_.data(), half, true, nullptr);
    linear_gpu(blas_, params_, t2_.data(), b.pairs, half, "pair_mlp.2", f_.data(), 1, false, nullptr);
    torsion_torque<<<blocks_for(b.torsions), threads>>>(score, f_.data(), b.x.data(), b.term_offset.data(),
                                                       b.term_pair.data(), b.term_moving_atom.data(),
                                                       b.term_fixed_atom.data(), b.t_fixed.data(), b.t_moving.data(),
                                                       torsion_scale_.data(), b.torsions, cfg_.cutoff);
    CONFSGM_CUDA_CHECK_LAUNCH("torsion_network_gpu::forward kernels");
  }

  double forward_flops(int atoms, int edges, int pairs) const noexcept {
    const double H = static_cast<double>(cfg_.hidden), R = static_cast<double>(cfg_.radial);
    return encoder_.flops(atoms, edges) + 2.0 * pairs * ((2 * H + R + 1) * H + H * (H / 2) + H / 2);
  }

 private:
  void build_sigma_tables(const device_torsion_batch& b, const std::vector<float>& s) {
    // Per sample first (log and output scale), then looked up per edge, pair and torsion: a batch of 4,096
    // drug-sized samples has millions of pairs, and this runs at every noise level.
    std::vector<float> log_sigma(s.size());
    std::vector<double> scale(s.size());
    for (std::size_t c = 0; c < s.size(); ++c) {
      log_sigma[c] = static_cast<float>(std::log(static_cast<double>(s[c])));
      scale[c] = c > 0 && s[c] == s[c - 1] ? scale[c - 1]
                                           : model::torsion_score_network<float>::score_scale(static_cast<double>(s[c]));
    }
    std::vector<float> es(b.host_edge_sample.size()), pls(b.host_pair_sample.size());
    std::vector<double> ts(b.host_torsion_sample.size());
    for (std::size_t k = 0; k < es.size(); ++k) es[k] = s[static_cast<std::size_t>(b.host_edge_sample[k])];
    for (std::size_t q = 0; q < pls.size(); ++q) pls[q] = log_sigma[static_cast<std::size_t>(b.host_pair_sample[q])];
    for (std::size_t t = 0; t < ts.size(); ++t) ts[t] = scale[static_cast<std::size_t>(b.host_torsion_sample[t])];
    edge_sigma_.upload(es);
    pair_log_sigma_.upload(pls);
    torsion_scale_.upload(ts);
  }

  model::torsion_network_config cfg_;
  blas_handle blas_;
  device_parameters params_;
  graph_encoder_gpu encoder_;
  std::uint64_t batch_key_ = 0;
  std::vector<float> sigma_key_;
  device_buffer<float> d_, sig_scratch_, edge_sigma_, pair_log_sigma_, pin_, t1_, t2_, f_;
  device_buffer<double> torsion_scale_;
};

/// The torus samplers on the GPU: the same options, initial state and result as
/// sample::sample_torsions (threads and chunk are ignored: all samples form one batch).
/// Samples whose structure has no rotatable bond are returned as given, as on the CPU.
/// @p keys, when given, holds each sample's noise stream in place of o.stream_offset + its index: samples of
/// several molecules then share one launch and each draws what its own molecule's CPU run would (give their
/// start states too, from sample::initial_torsions with each molecule's stream offset).
template <NoiseSchedule Schedule>
sample::torus_result sample_torsions_gpu(torsion_network_gpu& net, const Schedule& schedule,
                                         const std::vector<const torsion_structure*>& samples,
                                         const sample::torus_sampler_options& o = {},
                                         const std::vector<std::vector<double>>* start = nullptr,
                                         const std::vector<std::uint32_t>* keys = nullptr) {
  if (o.first_level >= schedule.size())
    throw invalid_argument("sample_torsions_gpu(): first_level " + std::to_string(o.first_level) +
                           " but the schedule has " + std::to_string(schedule.size()) + " levels");
  if (keys && keys->size() != samples.size())
    throw shape_mismatch("sample_torsions_gpu(): " + std::to_string(keys->size()) + " noise keys for " +
                         std::to_string(samples.size()) + " samples");
  if (o.guidance.active())
    throw invalid_argument("sample_torsions_gpu(): particle guidance runs on the CPU sampler only for now");
  o.shift.check();
  if (o.shift.active() && o.chunk == 0) throw invalid_argument("sample_torsions_gpu(): sigma_shift needs chunk > 0");
  const std::size_t n = samples.size();
  const auto t0 = std::chrono::steady_clock::now();
  sample::torus_result r;
  r.torsions = sample::initial_torsions(samples, start, o.seed, o.stream_offset, "sample_torsions_gpu()");
  r.status.assign(n, sample::sample_status{});
  std::vector<std::size_t> members;  // samples with torsions, in order
  std::vector<const torsion_structure*> member_structs;
  for (std::size_t c = 0; c < n; ++c) {
    const auto T = samples[c]->torsions.size();
    bool finite = true;
    for (const double v : r.torsions[c]) finite &= std::isfinite(v);
    if (!finite) {
      r.status[c] = sample::sample_status::non_finite();
      ++r.diverged;
      continue;
    }
    if (T) {
      members.push_back(c);
      member_structs.push_back(samples[c]);
    }
  }
  if (members.empty()) return r;
  device_torsion_batch b(member_structs);
  std::vector<double> theta_host;
  for (const auto c : members) theta_host.insert(theta_host.end(), r.torsions[c].begin(), r.torsions[c].end());
  device_buffer<double> theta(theta_host);
  device_buffer<float> score(static_cast<std::size_t>(b.torsions));
  device_buffer<int> dead(std::vector<int>(members.size(), 0)), dead_level(std::vector<int>(members.size(), -1)),
      dead_step(std::vector<int>(members.size(), -1));
  // Noise streams: stream_offset + the caller's sample index, as on the CPU (samples without torsions are
  // skipped), or the caller's keys.
  std::vector<std::uint32_t> member_keys;
  for (const auto c : members)
    member_keys.push_back(keys ? (*keys)[c] : o.stream_offset + static_cast<std::uint32_t>(c));
  device_buffer<std::uint32_t> key(member_keys);
  // sigma-shift (sample/compensation.hpp) as on the CPU: each member's network level from its last noise
  // estimate, pooled per structure within the CPU sampler's chunk of the sample (its index, or its key minus
  // o.stream_offset: each molecule's share then pools as its own CPU run does when o.chunk divides the distance
  // between the molecules' first keys, as with generate::stream_offset and the default chunk), dead members left out.
  const std::size_t M = members.size();
  std::vector<double> noise_ratio(M, 1.0), expected(M, 0.0);
  std::vector<std::size_t> net_level(M, 0), var_offset(M + 1, 0);
  std::vector<std::pair<const torsion_structure*, std::size_t>> pool(M);
  for (std::size_t m = 0; m < M; ++m) {
    const std::size_t position = keys ? (*keys)[members[m]] - o.stream_offset : members[m];
    pool[m] = {member_structs[m], o.shift.active() ? position / o.chunk : 0};
    var_offset[m + 1] = var_offset[m] + member_structs[m]->torsions.size();
  }
  std::vector<float> sig(M);
  for (std::size_t level = o.first_level; level < schedule.size(); ++level) {
    const double sigma = schedule.sigma(level);
    const sample::level_coefficients k = sample::torus_coefficients(o, schedule, level);  // the CPU sampler's
    const bool shifting = o.shift.applies(schedule, level);
    for (std::size_t step = 0; step < k.total_steps(); ++step) {
      const sample::step_update u = k.update(step);  // correctors first, then the predictor (as on the CPU)
      std::vector<char> alive;
      if (shifting) {
        const auto dd = dead.download();
        alive.resize(M);
        for (std::size_t m = 0; m < M; ++m) {
          alive[m] = dd[m] == 0;
          net_level[m] = o.shift.network_level(schedule, level, noise_ratio[m]);
          sig[m] = static_cast<float>(schedule.sigma(net_level[m]));
          expected[m] = sample::torus_dynamics{}.expected_score_square(*member_structs[m], schedule.sigma(net_level[m]));
          r.shifted_evaluations += alive[m] && net_level[m] != level;
        }
      } else {
        std::fill(sig.begin(), sig.end(), static_cast<float>(sigma));
      }
      net.forward(b, theta.data(), sig, score.data());
      if (shifting) {
        const auto host_score = score.download();
        const auto ratio =
            sample::pooled_noise_ratios(schedule, level, pool, net_level, var_offset, host_score.data(), expected, &alive);
        for (std::size_t m = 0; m < M; ++m)
          if (alive[m]) noise_ratio[m] = ratio[m];
      }
      kernels::torus_update<<<kernels::blocks_for(b.torsions), kernels::threads>>>(
          theta.data(), score.data(), b.torsion_sample.data(), b.sample_torsion_offset.data(), key.data(), b.torsions,
          u.drift, u.noise, o.seed, static_cast<std::uint32_t>(level), static_cast<std::uint32_t>(u.key), dead.data());
      kernels::mark_dead<<<kernels::blocks_for(members.size()), kernels::threads>>>(
          theta.data(), b.sample_torsion_offset.data(), 0, static_cast<int>(members.size()),
          std::numeric_limits<double>::infinity(), dead.data(),
          dead_level.data(), dead_step.data(), static_cast<int>(level), static_cast<int>(step));
      r.network_evaluations += static_cast<double>(members.size());
    }
  }
  CONFSGM_CUDA_CHECK_LAUNCH("sample_torsions_gpu kernels");
  const auto th = theta.download();
  const auto dd = dead.download(), dl = dead_level.download(), dstep = dead_step.download();
  std::size_t off = 0;
  for (std::size_t m = 0; m < members.size(); ++m) {
    auto& v = r.torsions[members[m]];
    std::copy(th.begin() + static_cast<std::ptrdiff_t>(off), th.begin() + static_cast<std::ptrdiff_t>(off + v.size()),
              v.begin());
    off += v.size();
    if (dd[m]) {
      const auto level = static_cast<std::size_t>(dl[m]);
      r.status[members[m]] =
          sample::sample_status::diverged_at(level, schedule.sigma(level), static_cast<std::size_t>(dstep[m]));
      ++r.diverged;
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

/// A torsion network on the device as the model of backend-generic algorithms (eval::torsion_bias_problem): they
/// call sample_torsions() and the sampling runs on the GPU. Concurrent callers are serialised (shared device buffers).
class torsion_model_gpu {
 public:
  torsion_model_gpu(const model::torsion_score_network<float>& net, const model::parameter_vector<float>& p,
                    bool tf32 = false)
      : net_(net, p, tf32) {}
  template <NoiseSchedule Schedule>
  sample::torus_result sample_torsions(const Schedule& schedule, const std::vector<const torsion_structure*>& samples,
                                       const sample::torus_sampler_options& o,
                                       const std::vector<std::vector<double>>* start = nullptr) const {
    const std::lock_guard<std::mutex> hold(lock_);
    return sample_torsions_gpu(net_, schedule, samples, o, start);
  }

 private:
  mutable torsion_network_gpu net_;
  mutable std::mutex lock_;
};

}  // namespace confsgm::cuda
