// confsgm/generate/generators.hpp: conformer generators for RDKit molecules,
// one per method, behind one concept, so that a C++ program does what
// `confsgm generate` does: molecules in, checked conformers out.
//
//   etkdg_generator        RDKit ETKDGv3 (optionally + MMFF94), the baseline
//   distance_generator     annealed Langevin (paper Algorithm 1) with trained distance models (ConfGF family)
//   torsion_generator      the torus sampler on ETKDG local structures with trained torsion models (Torsional
//                          Diffusion family)
//
// generate(molecule, index, n, threads) gives molecule `index` of a run its own noise streams
// (generate/noise_streams.hpp), so the output depends on the seed and the molecule's place in the input, never on
// the thread count or on which other molecules share the run. The score-model generators own their models (several
// allowed: each molecule goes to the one whose training domain fits it, generate/model_choice.hpp) and check every
// conformer's stereo against the input (rdkit/sampled_conformers.hpp).
#pragma once

#include "confsgm/generate/model_choice.hpp"
#include "confsgm/generate/noise_streams.hpp"
#include "confsgm/generate/recommended_sampling.hpp"
#include "confsgm/model/distance_score_network.hpp"
#include "confsgm/model/torsion_score_network.hpp"
#include "confsgm/rdkit/etkdg.hpp"
#include "confsgm/rdkit/sampled_conformers.hpp"
#include "confsgm/rdkit/torsion_data.hpp"
#include "confsgm/sample/langevin.hpp"
#include "confsgm/sample/torus_sampler.hpp"
#include "confsgm/train/model_file.hpp"

#include <algorithm>
#include <concepts>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace confsgm::generate {

/// A conformer generator: up to @p n conformers of molecule @p m, the @p index-th molecule of the run (its noise
/// streams), on @p threads threads (0 = all cores). Problems with one molecule throw; the caller goes on with the next.
template <class G>
concept Generator = requires(const G& g, const rdkit::molecule& m, std::size_t index, std::size_t n, unsigned threads) {
  { g.generate(m, index, n, threads) } -> std::same_as<rdkit::generated_conformers>;
};

/// Compile-time check with a message that names what is missing (use as static_assert(check_generator<G>())).
template <class G>
constexpr bool check_generator() {
  static_assert(requires(const G& g, const rdkit::molecule& m, std::size_t i, std::size_t n, unsigned t) { g.generate(m, i, n, t); },
                "Generator: needs a const member generate(const rdkit::molecule&, std::size_t index, std::size_t n, "
                "unsigned threads)");
  static_assert(Generator<G>, "Generator: generate(...) must return rdkit::generated_conformers");
  return true;
}

/// Refuses a conformer count no run may ask for (it would repeat the molecule's noise streams).
inline void check_conformer_count(const rdkit::molecule& m, std::size_t n) {
  if (n == 0) throw invalid_argument("generate: 0 conformers asked of '" + m.id + "'");
  if (n > max_conformers_per_molecule)
    throw invalid_argument("generate: " + std::to_string(n) + " conformers asked of '" + m.id + "'; at most " +
                           std::to_string(max_conformers_per_molecule) + " per molecule and run (run again with another "
                           "seed for more)");
}

/// RDKit ETKDGv3, seeded with options().seed for every molecule (RDKit seeds conformer i with seed * (i + 1)).
class etkdg_generator {
 public:
  explicit etkdg_generator(rdkit::etkdg_options options = {}) : options_(options) {}
  const rdkit::etkdg_options& options() const { return options_; }

  rdkit::generated_conformers generate(const rdkit::molecule& m, std::size_t /*index*/, std::size_t n,
                                       unsigned threads) const {
    check_conformer_count(m, n);
    auto o = options_;
    o.threads = threads;
    return rdkit::generate_etkdg(m, n, o);
  }

 private:
  rdkit::etkdg_options options_;
};

/// Trained models of one space, each with its training domain; a molecule goes to the one that fits it best.
template <class Network>
class model_set {
 public:
  using model_type = train::model_file<Network>;
  explicit model_set(std::vector<model_type> models) : models_(std::move(models)) {
    if (models_.empty()) throw invalid_argument("generate::model_set: no model given");
    for (const auto& f : models_) domains_.push_back(training_heavy_atoms_max(f.header, f.path));
  }
  /// Reads the model files @p paths (train::load_model_file).
  static model_set load(const std::vector<std::string>& paths) {
    std::vector<model_type> files;
    for (const auto& p : paths) files.push_back(train::load_model_file<Network>(p));
    return model_set(std::move(files));
  }
  std::size_t size() const { return models_.size(); }
  const model_type& operator[](std::size_t i) const { return models_.at(i); }
  /// Training domain of model @p i in heavy atoms (none: unknown).
  std::optional<std::size_t> domain(std::size_t i) const { return domains_.at(i); }
  /// Index of the model that serves @p m.
  std::size_t choose(const rdkit::molecule& m) const { return choose_model(domains_, m.graph.num_heavy_atoms()); }
  /// The sampling-time compensation model @p i's file recommends (generate/recommended_sampling.hpp).
  sample::sampling_compensation recommended(std::size_t i) const {
    return recommended_compensation(models_.at(i).header, models_.at(i).path);
  }
  /// Per model: @p base with the compensation @p request resolves to against that model's recommendation; with
  /// no request, @p base for every model.
  template <class SamplerOptions>
  std::vector<SamplerOptions> options_per_model(const SamplerOptions& base,
                                                const std::optional<sample::compensation_request>& request) const {
    std::vector<SamplerOptions> out(models_.size(), base);
    if (request)
      for (std::size_t i = 0; i < models_.size(); ++i) request->resolve(recommended(i)).apply_to(out[i]);
    return out;
  }

 private:
  std::vector<model_type> models_;
  std::vector<std::optional<std::size_t>> domains_;
};

/// Annealed Langevin (paper Algorithm 1) on each model's trained noise levels, with ConfGF's settings by default.
template <class Network = model::distance_score_network<float>>
class distance_generator {
 public:
  using network_type = Network;
  using scalar = typename Network::scalar_type;
  /// @p compensation: when given, each model samples with the compensation it resolves to against the model
  /// file's recommendation (sample::compensation_request); when not, every model with @p options as they are.
  distance_generator(model_set<Network> models, sample::langevin_options options,
                     rdkit::mirror_images mirrors = rdkit::mirror_images::reflect,
                     const std::optional<sample::compensation_request>& compensation = std::nullopt)
      : models_(std::move(models)), options_(options), mirrors_(mirrors) {
    for (std::size_t i = 0; i < models_.size(); ++i) schedules_.push_back(models_[i].trained_schedule());
    per_model_ = models_.options_per_model(options_, compensation);
  }
  const model_set<Network>& models() const { return models_; }
  /// The options as given.
  const sample::langevin_options& options() const { return options_; }
  /// The options model @p i samples with (its compensation resolved).
  const sample::langevin_options& options(std::size_t i) const { return per_model_.at(i); }
  /// The noise levels model @p i walks.
  const custom_schedule& schedule(std::size_t i) const { return schedules_.at(i); }

  rdkit::generated_conformers generate(const rdkit::molecule& m, std::size_t index, std::size_t n,
                                       unsigned threads) const {
    check_conformer_count(m, n);
    const std::size_t i = models_.choose(m);
    const auto structure = distance_space::describe(m.graph);
    auto o = per_model_[i];
    o.threads = threads;
    o.stream_offset = stream_offset(index);
    const sample::network_pair_score<Network> score(models_[i].network, models_[i].parameters);
    return collect(m, n, sample::annealed_langevin<scalar>(score, schedules_[i], structure, n, o));
  }
  /// Conformers from a sampler run for @p m made elsewhere (e.g. a GPU launch shared with other molecules).
  rdkit::generated_conformers collect(const rdkit::molecule& m, std::size_t n, const sample::langevin_result& r) const {
    return rdkit::collect_samples(
        m, n, r.status, [&](std::size_t c) { return coordinates<double>(r.conformers[c]); }, mirrors_);
  }

 private:
  model_set<Network> models_;
  std::vector<custom_schedule> schedules_;
  sample::langevin_options options_;
  std::vector<sample::langevin_options> per_model_;
  rdkit::mirror_images mirrors_;
};

/// The torus sampler (reverse SDE by default, @p steps log-spaced levels) on ETKDG local structures: bond lengths,
/// angles and ring geometry from ETKDG, dihedrals from the model.
template <class Network = model::torsion_score_network<float>>
class torsion_generator {
 public:
  using network_type = Network;
  using scalar = typename Network::scalar_type;
  /// @p reuse_local: one local structure per molecule instead of one per conformer (faster, less diverse).
  /// @p compensation: when given, each model samples with the compensation it resolves to against the model
  /// file's recommendation (sample::compensation_request); when not, every model with @p options as they are.
  torsion_generator(model_set<Network> models, sample::torus_sampler_options options, std::size_t steps = 20,
                    bool reuse_local = false,
                    const std::optional<sample::compensation_request>& compensation = std::nullopt)
      : models_(std::move(models)), options_(options), reuse_local_(reuse_local) {
    for (std::size_t i = 0; i < models_.size(); ++i) {
      schedules_.push_back(models_[i].sampling_schedule(steps));
      rules_.push_back(models_[i].rotatable_rule());
    }
    per_model_ = models_.options_per_model(options_, compensation);
  }
  const model_set<Network>& models() const { return models_; }
  /// The options as given.
  const sample::torus_sampler_options& options() const { return options_; }
  /// The options model @p i samples with (its compensation resolved).
  const sample::torus_sampler_options& options(std::size_t i) const { return per_model_.at(i); }
  const log_uniform_schedule& schedule(std::size_t i) const { return schedules_.at(i); }

  /// The ETKDG local structures molecule @p index of the run samples on (n, or 1 with reuse_local; fewer when
  /// ETKDG embeds fewer with the input's stereo), seeded per molecule; a molecule ETKDG cannot embed with the
  /// input's stereo is tried again from random-coordinate starts before it fails.
  std::vector<torsion_structure> local_structures(const rdkit::molecule& m, std::size_t index, std::size_t n) const {
    return rdkit::local_structures(m, reuse_local_ ? 1 : n, rdkit::molecule_seed(options_.seed, index),
                                   rules_[models_.choose(m)], nullptr, /*random_coordinate_retry=*/true);
  }
  /// Sample c of @p n samples on @p local: the structure it starts from.
  static std::vector<const torsion_structure*> samples_on(const std::vector<torsion_structure>& local, std::size_t n) {
    std::vector<const torsion_structure*> samples;
    for (std::size_t c = 0; c < n; ++c) samples.push_back(&local[c % local.size()]);
    return samples;
  }

  rdkit::generated_conformers generate(const rdkit::molecule& m, std::size_t index, std::size_t n,
                                       unsigned threads) const {
    check_conformer_count(m, n);
    const auto local = local_structures(m, index, n);
    if (local.empty())
      throw error("ETKDG produced no local structure with the input's stereo (also not from random-coordinate starts)");
    const std::size_t i = models_.choose(m);
    auto o = per_model_[i];
    o.threads = threads;
    o.stream_offset = stream_offset(index);
    if (o.guidance.active()) o.chunk = std::max(o.chunk, n);  // particle guidance: the conformers are one batch
    const sample::network_torsion_score<Network> score(models_[i].network, models_[i].parameters);
    return collect(m, local, n, sample::sample_torsions<scalar>(score, schedules_[i], samples_on(local, n), o));
  }
  /// Conformers from a sampler run on @p local made elsewhere (e.g. a GPU launch shared with other molecules).
  rdkit::generated_conformers collect(const rdkit::molecule& m, const std::vector<torsion_structure>& local, std::size_t n,
                                      const sample::torus_result& r) const {
    if (local.empty()) throw error("ETKDG produced no local structure with the input's stereo");
    return rdkit::collect_samples(
        m, n, r.status,
        [&](std::size_t c) { return torsion_space::coordinates_of(local[c % local.size()], r.torsions[c]); },
        rdkit::mirror_images::keep);
  }

 private:
  model_set<Network> models_;
  std::vector<log_uniform_schedule> schedules_;
  std::vector<rotatable_rule> rules_;
  sample::torus_sampler_options options_;
  std::vector<sample::torus_sampler_options> per_model_;
  bool reuse_local_;
};

static_assert(check_generator<etkdg_generator>());
static_assert(check_generator<distance_generator<>>());
static_assert(check_generator<torsion_generator<>>());

}  // namespace confsgm::generate
