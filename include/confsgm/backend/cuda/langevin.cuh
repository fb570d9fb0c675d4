// confsgm/backend/cuda/langevin.cuh: annealed Langevin dynamics (paper
// Algorithm 1, ConfGF defaults) for many conformers of many molecules in one
// batch, with the whole state on the GPU across all 50 x 100 steps. It follows the CPU sampler
// (sample/langevin.hpp) operation for operation: coordinates in double,
// distances cast to float for the network, the chain rule summed per atom in
// edge order, the per-atom clip, and noise z from the same Philox stream
// (seed, langevin, conformer, level) at the same index, so a CPU run and a GPU
// run with the same seed draw the same numbers.
#pragma once

#include "confsgm/backend/cuda/distance_network.cuh"
#include "confsgm/random/philox.hpp"
#include "confsgm/sample/langevin.hpp"

#include <mutex>
#include <vector>

namespace confsgm::cuda {

namespace kernels {
// Internal linkage: a program may include these headers from several .cu files.
namespace {

/// d_k = |x_i - x_j| (double geometry, float for the network); sigma_k = level sigma.
__global__ void pair_distances(float* d, float* sig, const double* x, const int* ei, const int* ej, int edges,
                               float sigma) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= edges) return;
  const double* a = x + 3 * std::size_t(ei[k]);
  const double* b = x + 3 * std::size_t(ej[k]);
  const double dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
  d[k] = static_cast<float>(sqrt(dx * dx + dy * dy + dz * dz));
  sig[k] = sigma;
}

/// The clipped coordinate score of every atom from the old coordinates (one thread per atom). A separate pass
/// from the update, so no thread reads a neighbour another thread has already moved.
__global__ void coordinate_score(double* s_out, const double* x, const float* score, const int* inc_offset,
                                 const int* inc_edge, const int* inc_other, int atoms, double clip) {
  const int v = blockIdx.x * blockDim.x + threadIdx.x;
  if (v >= atoms) return;
  double s[3] = {0, 0, 0};
  const double* xv = x + 3 * std::size_t(v);
  for (int q = inc_offset[v]; q < inc_offset[v + 1]; ++q) {
    const double* xo = x + 3 * std::size_t(inc_other[q]);
    const double dx = xv[0] - xo[0], dy = xv[1] - xo[1], dz = xv[2] - xo[2];
    const double d = sqrt(dx * dx + dy * dy + dz * dz);
    if (!(d > 0)) continue;
    const double w = static_cast<double>(score[inc_edge[q]]) / d;
    s[0] += dx * w;
    s[1] += dy * w;
    s[2] += dz * w;
  }
  if (clip > 0) {
    const double n = sqrt(s[0] * s[0] + s[1] * s[1] + s[2] * s[2]);
    if (n > clip)
      for (double& si : s) si *= clip / n;
  }
  for (int k = 0; k < 3; ++k) s_out[3 * std::size_t(v) + k] = s[k];
}

/// x += alpha S + noise z for every atom of every live conformer. Conformer c owns the atoms
/// [atom_offset[c], atom_offset[c + 1]) and draws its noise from stream key[c]: conformers of different molecules
/// share one launch.
__global__ void langevin_update(double* x, const double* s, const int* atom_conformer, const int* atom_offset,
                                const std::uint32_t* key, int atoms, double alpha, double noise, std::uint64_t seed,
                                std::uint32_t level, std::uint32_t step, const int* dead) {
  const int v = blockIdx.x * blockDim.x + threadIdx.x;
  if (v >= atoms) return;
  const int c = atom_conformer[v];
  if (dead[c]) return;
  const auto n = static_cast<std::uint32_t>(atom_offset[c + 1] - atom_offset[c]);
  const auto a = static_cast<std::uint32_t>(v - atom_offset[c]);
  const random::stream z(seed, random::purpose::langevin, key[c], level);
  const std::uint32_t base = step * 3u * n + 3u * a;
  for (int k = 0; k < 3; ++k)
    x[3 * std::size_t(v) + k] += alpha * s[3 * std::size_t(v) + k] + (noise > 0 ? noise * z.normal(base + k) : 0.0);
}

/// Marks samples whose state stopped being finite or left [-max_abs, max_abs] (kept frozen from then on). A pass of
/// its own after the update, so every value of a sample took the step first, as on the CPU. Sample c owns the values
/// [offset[c], offset[c + 1]) when @p offset is given (torsions), else [c * stride, (c + 1) * stride) (coordinates).
__global__ void mark_dead(const double* state, const int* offset, int stride, int samples, double max_abs, int* dead,
                          int* dead_level, int* dead_step, int level, int step) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= samples || dead[c]) return;
  const std::size_t begin = offset ? std::size_t(offset[c]) : std::size_t(c) * stride;
  const std::size_t end = offset ? std::size_t(offset[c + 1]) : begin + stride;
  for (std::size_t k = begin; k < end; ++k)
    if (!isfinite(state[k]) || fabs(state[k]) > max_abs) {
      dead[c] = 1;
      dead_level[c] = level;
      dead_step[c] = step;
      return;
    }
}

}  // namespace
}  // namespace kernels

/// One molecule's share of a batched GPU run (the CPU's type: sample/langevin.hpp).
using langevin_job = sample::langevin_job;

/// Algorithm 1 on the GPU for many molecules at once: every job's conformers form one batch and the whole state
/// stays on the device across all levels and steps. Each job's result equals sample::annealed_langevin for that
/// molecule with the job's stream_offset (o.stream_offset, o.threads and o.chunk are not used); `seconds` is the
/// whole run's time in every result.
template <NoiseSchedule Schedule>
std::vector<sample::langevin_result> annealed_langevin_gpu(distance_network_gpu& net, const Schedule& schedule,
                                                           const std::vector<langevin_job>& jobs,
                                                           const sample::langevin_options& o = {}) {
  if (o.first_level >= schedule.size())
    throw invalid_argument("annealed_langevin_gpu(): first_level " + std::to_string(o.first_level) +
                           " but the schedule has " + std::to_string(schedule.size()) + " levels");
  if (!(o.max_coordinate > 0)) throw invalid_argument("annealed_langevin_gpu(): max_coordinate must be > 0");
  if (o.shift.active())
    throw invalid_argument("annealed_langevin_gpu(): sigma_shift runs on the CPU distance sampler only (the GPU one "
                           "gives every conformer one sigma; the torsion samplers shift on both)");
  if (o.guidance.active())
    throw invalid_argument("annealed_langevin_gpu(): particle guidance runs on the CPU distance sampler only");
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<sample::langevin_result> results(jobs.size());
  model::graph_batch b;
  std::vector<double> x0;
  std::vector<int> dead0, atom_conformer, atom_offset{0}, coord_offset{0};
  std::vector<std::uint32_t> key;
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const auto& job = jobs[j];
    if (!job.structure) throw invalid_argument("annealed_langevin_gpu(): job " + std::to_string(j) + " has no structure");
    const auto& s = *job.structure;
    const std::size_t n = job.conformers;
    if (job.start && (job.start->size() != n || job.start->num_atoms() != s.n_atoms))
      throw shape_mismatch("annealed_langevin_gpu(): the start batch of job " + std::to_string(j) + " does not hold " +
                           std::to_string(n) + " conformers of " + std::to_string(s.n_atoms) + " atoms");
    auto& r = results[j];
    r.conformers = conformer_batch<double>(s.n_atoms);
    r.conformers.resize(n);
    r.status.assign(n, sample::sample_status{});
    for (std::size_t c = 0; c < n; ++c) {
      if (job.start) {  // the CPU sampler's initial state, draw for draw
        r.conformers[c] = (*job.start)[c];
      } else {  // the CPU sampler's prior draw (sample/coordinate_dynamics.hpp)
        r.conformers[c] = o.dynamics().initial(
            s, random::stream(o.seed, random::purpose::init, job.stream_offset + static_cast<std::uint32_t>(c)));
      }
      const bool finite = r.conformers.is_finite(c);
      if (!finite) r.status[c] = sample::sample_status::non_finite();
      dead0.push_back(finite ? 0 : 1);
      b.add(s);
      key.push_back(job.stream_offset + static_cast<std::uint32_t>(c));
      const int conformer = static_cast<int>(key.size()) - 1;
      atom_conformer.insert(atom_conformer.end(), s.n_atoms, conformer);
      atom_offset.push_back(atom_offset.back() + static_cast<int>(s.n_atoms));
      coord_offset.push_back(3 * atom_offset.back());
    }
    x0.insert(x0.end(), r.conformers.data(), r.conformers.data() + 3 * s.n_atoms * n);
  }
  const int C = static_cast<int>(key.size()), atoms = atom_offset.back();
  std::size_t evaluations_per_conformer = 0;
  if (C > 0) {
    const device_graph g(b);
    device_buffer<double> x(x0), s_xyz(std::size_t(3) * std::size_t(atoms));
    device_buffer<float> d(std::size_t(g.edges)), sig(std::size_t(g.edges)), score(std::size_t(g.edges));
    device_buffer<int> dead(dead0), dead_level(std::vector<int>(std::size_t(C), -1)),
        dead_step(std::vector<int>(std::size_t(C), -1)), conformer_of(atom_conformer), offsets(atom_offset),
        coords(coord_offset);
    device_buffer<std::uint32_t> keys(key);
    const auto update = o.update();  // the CPU sampler's coefficients (sample/update.hpp)
    std::vector<sample::level_coefficients> coefficients;  // per level, computed once
    for (std::size_t level = o.first_level; level < schedule.size(); ++level) {
      coefficients.push_back(update.at(schedule, level));
      evaluations_per_conformer += coefficients.back().total_steps();
    }
    for (std::size_t level = o.first_level; level < schedule.size(); ++level) {
      const double sigma = schedule.sigma(level);
      const sample::level_coefficients& k = coefficients[level - o.first_level];
      for (std::size_t step = 0; step < k.total_steps(); ++step) {
        const sample::step_update u = k.update(step);  // correctors first, then the predictor (as on the CPU)
        kernels::pair_distances<<<kernels::blocks_for(g.edges), kernels::threads>>>(
            d.data(), sig.data(), x.data(), g.edge_i.data(), g.edge_j.data(), g.edges, static_cast<float>(sigma));
        net.forward(g, d.data(), sig.data(), score.data());
        kernels::coordinate_score<<<kernels::blocks_for(atoms), kernels::threads>>>(
            s_xyz.data(), x.data(), score.data(), g.inc_offset.data(), g.inc_edge.data(), g.inc_other.data(), atoms,
            o.clip);
        kernels::langevin_update<<<kernels::blocks_for(atoms), kernels::threads>>>(
            x.data(), s_xyz.data(), conformer_of.data(), offsets.data(), keys.data(), atoms, u.drift, u.noise, o.seed,
            static_cast<std::uint32_t>(level), static_cast<std::uint32_t>(u.key), dead.data());
        kernels::mark_dead<<<kernels::blocks_for(C), kernels::threads>>>(
            x.data(), coords.data(), 0, C, o.max_coordinate, dead.data(), dead_level.data(), dead_step.data(),
            static_cast<int>(level), static_cast<int>(step));
      }
    }
    CONFSGM_CUDA_CHECK_LAUNCH("annealed_langevin_gpu kernels");
    const auto xs = x.download();
    const auto dl = dead_level.download(), ds = dead_step.download();
    std::size_t conformer = 0, value = 0;
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      auto& r = results[j];
      const std::size_t n = jobs[j].conformers, values = 3 * jobs[j].structure->n_atoms * n;
      std::copy(xs.begin() + static_cast<std::ptrdiff_t>(value), xs.begin() + static_cast<std::ptrdiff_t>(value + values),
                r.conformers.data());
      value += values;
      r.network_evaluations = static_cast<double>(n) * static_cast<double>(evaluations_per_conformer);
      for (std::size_t c = 0; c < n; ++c, ++conformer) {
        if (dead0[conformer]) {
          ++r.diverged;
          continue;
        }
        if (dl[conformer] >= 0) {
          const auto level = static_cast<std::size_t>(dl[conformer]);
          r.status[c] = sample::sample_status::diverged_at(level, schedule.sigma(level),
                                                           static_cast<std::size_t>(ds[conformer]));
          ++r.diverged;
        }
      }
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto& r : results) r.seconds = seconds;
  return results;
}

/// Algorithm 1 on the GPU for @p n conformers of one molecule; the same options,
/// initial state and result as sample::annealed_langevin (threads and chunk are ignored:
/// all conformers form one batch).
template <NoiseSchedule Schedule>
sample::langevin_result annealed_langevin_gpu(distance_network_gpu& net, const Schedule& schedule,
                                              const distance_structure& s, std::size_t n,
                                              const sample::langevin_options& o = {},
                                              const conformer_batch<double>* start = nullptr) {
  if (start && (start->size() != n || start->num_atoms() != s.n_atoms))
    throw shape_mismatch("annealed_langevin_gpu(): the start batch does not hold " + std::to_string(n) +
                         " conformers of " + std::to_string(s.n_atoms) + " atoms");
  return std::move(annealed_langevin_gpu(net, schedule, std::vector<langevin_job>{{&s, n, o.stream_offset, start}}, o).front());
}

/// A distance network on the device as the model of backend-generic algorithms (eval::distance_bias_problem):
/// they call annealed_langevin() and the sampling runs on the GPU. One network serves one call at a time (its device
/// buffers are shared), so concurrent callers are serialised.
class distance_model_gpu {
 public:
  distance_model_gpu(const model::distance_score_network<float>& net, const model::parameter_vector<float>& p,
                     bool tf32 = false)
      : net_(net, p, tf32) {}
  template <NoiseSchedule Schedule>
  sample::langevin_result annealed_langevin(const Schedule& schedule, const distance_structure& s, std::size_t n,
                                            const sample::langevin_options& o,
                                            const conformer_batch<double>* start = nullptr) const {
    const std::lock_guard<std::mutex> hold(lock_);
    return annealed_langevin_gpu(net_, schedule, s, n, o, start);
  }

 private:
  mutable distance_network_gpu net_;
  mutable std::mutex lock_;
};

}  // namespace confsgm::cuda
