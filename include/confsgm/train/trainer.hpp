// confsgm/train/trainer.hpp: denoising-score-matching training (paper
// Algorithm 3) for a network over a StateSpace, with a noise schedule and a
// perturbation policy chosen at compile time:
//
//   dsm_trainer<distance_score_network<float>, geometric_schedule, input_perturbation>
//
// Adam (parameters, gradients and moments kept where the network runs:
// train/adam.hpp), mini-batches of molecules (one conformer of each, drawn per step),
// global gradient-norm clipping, plain-DSM validation loss, ReduceLROnPlateau,
// observers for progress (nothing is printed), atomic checkpoints, exact resume.
//
// Determinism: every random number is keyed by (seed, purpose, step, sample)
// and a batch is cut into fixed micro-batches whose gradients are summed in
// order, so the weights after N steps do not depend on the thread count, and
// resuming from a checkpoint continues the very same run.
#pragma once

#include "confsgm/backend/execution.hpp"
#include "confsgm/core/conformer.hpp"
#include "confsgm/model/parameters.hpp"
#include "confsgm/model/score_network.hpp"
#include "confsgm/space/distance_space.hpp"
#include "confsgm/train/adam.hpp"
#include "confsgm/train/checkpoint.hpp"
#include "confsgm/train/data_parallel.hpp"
#include "confsgm/train/dsm.hpp"
#include "confsgm/util/parallel.hpp"
#include "confsgm/util/parse.hpp"
#include "confsgm/util/wire.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

namespace confsgm::train {

/// Molecules described for a state space, with the clean states of their conformers.
template <StateSpace Space>
struct training_set {
  std::vector<std::string> ids;
  std::vector<typename Space::structure> structures;
  std::vector<std::vector<std::vector<double>>> clean;  ///< [molecule][conformer][variable]
  /// Optional [molecule][conformer] structures, for spaces whose description
  /// differs per conformer (torsions: each conformer has its own local
  /// structure); empty = every conformer uses structures[molecule].
  std::vector<std::vector<typename Space::structure>> conformer_structures;
  std::size_t size() const noexcept { return ids.size(); }
  const typename Space::structure& structure_for(std::size_t m, std::size_t c) const {
    return conformer_structures.empty() ? structures[m] : conformer_structures[m][c];
  }
  std::size_t num_conformers() const noexcept {
    std::size_t n = 0;
    for (const auto& c : clean) n += c.size();
    return n;
  }
};

/// Header entries that describe what a training set covers: its molecule count
/// and its largest molecule in heavy atoms. Put them in trainer_options::extra_header
/// so that the model file records them; `generate` warns about molecules larger
/// than any the model has seen (a QM9 model on drug-sized input is worse than ETKDG).
template <StateSpace Space>
std::map<std::string, std::string> training_domain_header(const training_set<Space>& s) {
  std::size_t heavy_max = 0;
  for (const auto& st : s.structures)
    heavy_max = std::max<std::size_t>(
        heavy_max, static_cast<std::size_t>(std::count_if(st.atom_type.begin(), st.atom_type.end(),
                                                          [](std::uint32_t z) { return z != 1; })));
  return {{"training_molecules", std::to_string(s.size())}, {"training_heavy_atoms_max", std::to_string(heavy_max)}};
}

/// Distance-space training set from ensembles: the first @p max_conformers
/// conformers of each (ConfGF: the 5 of highest Boltzmann weight; the
/// project's data files are sorted by energy, so "first" is the same).
inline training_set<distance_space> distance_training_set(const std::vector<ensemble<double>>& ensembles,
                                                          std::size_t max_conformers = 5, unsigned order = 3) {
  training_set<distance_space> t;
  for (const auto& e : ensembles) {
    if (e.size() == 0) continue;
    auto s = distance_space::describe(e.graph, order);
    std::vector<std::vector<double>> confs;
    for (std::size_t c = 0; c < e.size() && c < max_conformers; ++c) {
      if (!e.conformers.is_finite(c))
        throw invalid_argument("distance_training_set(): conformer " + std::to_string(c) + " of '" + e.id +
                               "' has non-finite coordinates");
      std::vector<double> d(s.edges.size());
      distance_space::distances(s, e.conformers[c], d.data());
      confs.push_back(std::move(d));
    }
    t.ids.push_back(e.id);
    t.structures.push_back(std::move(s));
    t.clean.push_back(std::move(confs));
  }
  return t;
}

struct trainer_options {
  std::uint64_t seed = 2021;
  std::size_t batch_molecules = 32;
  std::size_t micro_batch = 8;          ///< molecules per gradient slot (fixed: keeps results thread-independent)
  std::size_t epochs = 100;
  double max_seconds = 0;               ///< stop (with a checkpoint) after this much training time; 0 = no limit
  double learning_rate = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, adam_epsilon = 1e-8;
  double clip_grad_norm = 100.0;        ///< global L2 norm; 0 = off
  double plateau_factor = 0.6;          ///< ConfGF: ReduceLROnPlateau(0.6, patience 10) on validation loss
  std::size_t plateau_patience = 10;
  /// Stop once this many epochs in a row brought no better validation loss; 0 = always train all epochs. The
  /// model file keeps the best epoch either way, so stopping only saves the epochs that could not replace it.
  std::size_t early_stop_patience = 0;
  double min_learning_rate = 1e-5;
  unsigned threads = 0;                 ///< 0 = all cores
  std::string checkpoint_path{};        ///< latest state with optimiser (resume from it); empty = none
  std::size_t checkpoint_every_steps = 0;  ///< also every N steps (0 = only at epoch ends)
  std::string best_model_path{};        ///< weights of the best validation epoch; empty = none
  std::map<std::string, std::string> extra_header{};  ///< written into model files (e.g. how the data were prepared)
  /// The ranks that share every batch (data_parallel.hpp; default: this process alone). Each rank computes its
  /// micro-batches and every rank sums all of them in micro-batch order, so each holds the single-process weights
  /// bit for bit; only rank 0 writes checkpoints and model files.
  data_parallel sharing{};
};

struct step_report {
  std::uint64_t step;
  std::size_t epoch;
  double loss, grad_norm, learning_rate, seconds;
};
struct epoch_report {
  std::size_t epoch;
  double train_loss, validation_loss, learning_rate, seconds;
  bool improved;
};

/// Receives progress; the library itself never prints.
struct training_observer {
  virtual ~training_observer() = default;
  virtual void on_step(const step_report&) {}
  virtual void on_epoch(const epoch_report&) {}
  virtual void on_checkpoint(const std::string&) {}
};

inline std::string exact(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);  // hex float: reads back bit for bit
  return buf;
}

template <class Network, NoiseSchedule Schedule, Perturbation Pert>
class dsm_trainer {
 public:
  using scalar = typename Network::scalar_type;
  using space = typename Network::space_type;
  using vec = std::vector<scalar>;
  using params = model::parameter_vector<scalar>;
  /// Parameters, gradients and Adam state, in the network's execution space (train/adam.hpp).
  using state_type = adam_state<scalar, backend::execution_of<Network>>;
  using gradient = typename state_type::gradient;
  static_assert(model::check_score_network<Network>());
  static_assert(TrainableWith<Network, state_type>,
                "dsm_trainer: the network must take its training state's weights (state_type::weights_type) in "
                "forward() and backward(), and accumulate into state_type::gradient in backward()");

  dsm_trainer(Network net, Schedule schedule, Pert pert, trainer_options opts = {})
      : net_(std::move(net)), schedule_(std::move(schedule)), pert_(std::move(pert)), opts_(std::move(opts)),
        state_(checked_options(net_, opts_), net_.initial_parameters(opts_.seed)) {
    lr_ = opts_.learning_rate;
  }

  const Network& network() const noexcept { return net_; }
  /// The parameters on the host (a device state copies them when asked, after a step).
  const params& parameters() const { return state_.parameters(); }
  /// Writable host parameters; what is written reaches the network's next pass.
  params& parameters() { return state_.parameters(); }
  const state_type& state() const noexcept { return state_; }
  std::uint64_t step() const noexcept { return step_; }
  std::size_t epoch() const noexcept { return epoch_; }
  /// Epochs completed when the best validation loss so far was reached (0 before the first). After resuming from a
  /// checkpoint that did not record it, the epoch resumed at, until a better loss comes (best_epoch_recorded()).
  std::size_t best_epoch() const noexcept { return best_epoch_; }
  bool best_epoch_recorded() const noexcept { return best_epoch_recorded_; }
  /// True when opts.early_stop_patience epochs have passed without a better validation loss.
  bool stopped_early() const noexcept {
    return opts_.early_stop_patience > 0 && epoch_ > 0 && epoch_ - best_epoch_ >= opts_.early_stop_patience;
  }
  double learning_rate() const noexcept { return lr_; }
  double best_validation_loss() const noexcept { return best_val_; }
  const trainer_options& options() const noexcept { return opts_; }

  /// Loss and gradient (on the host) of one batch (molecule indices @p mols) at step @p step.
  double batch_gradient(const training_set<space>& data, const std::vector<std::size_t>& mols, std::uint64_t step,
                        params& grad, bool perturb = true, std::optional<std::size_t> level = std::nullopt) const {
    gradient g;
    const double loss = batch_gradient_in_place(data, mols, step, g, perturb, level);
    state_.to_host(g, grad);
    return loss;
  }

  /// The same, the gradient left where the state keeps it (the device, for a device network).
  double batch_gradient_in_place(const training_set<space>& data, const std::vector<std::size_t>& mols,
                                 std::uint64_t step, gradient& grad, bool perturb = true,
                                 std::optional<std::size_t> level = std::nullopt) const {
    const std::size_t n_micro = (mols.size() + opts_.micro_batch - 1) / opts_.micro_batch;
    std::vector<gradient> slot(n_micro);
    std::vector<double> loss(n_micro, 0.0);
    const double weight = 1.0 / static_cast<double>(mols.size());
    std::vector<std::size_t> own;  // this rank's micro-batches (all of them on one process)
    for (std::size_t mb = 0; mb < n_micro; ++mb)
      if (opts_.sharing.owns(mb)) own.push_back(mb);
    parallel_for(own.size(), opts_.threads, [&](std::size_t j) {
      const std::size_t mb = own[j];
      typename Network::batch_type batch;
      vec input, sigma, target;
      std::vector<std::size_t> members;
      std::vector<double> member_sigma;
      for (std::size_t k = mb * opts_.micro_batch; k < std::min(mols.size(), (mb + 1) * opts_.micro_batch); ++k) {
        const auto m = mols[k];
        const auto sample_id = static_cast<std::uint32_t>(k);
        const random::stream pick(opts_.seed, random::purpose::noise_level, static_cast<std::uint32_t>(step), sample_id);
        const auto& confs = data.clean[m];
        const auto ci = pick.below(1, static_cast<std::uint32_t>(confs.size()));
        const auto& clean = confs[ci];
        std::vector<scalar> clean_s(clean.begin(), clean.end());
        auto s = perturb ? make_dsm_sample<space>(clean_s, schedule_, pert_, opts_.seed, static_cast<std::uint32_t>(step),
                                                  sample_id, level)
                         : make_dsm_sample<space>(clean_s, schedule_, no_perturbation{}, opts_.seed,
                                                  static_cast<std::uint32_t>(step), sample_id, level);
        batch.add(data.structure_for(m, ci));
        input.insert(input.end(), s.input.begin(), s.input.end());
        target.insert(target.end(), s.target.begin(), s.target.end());
        sigma.insert(sigma.end(), s.input.size(), static_cast<scalar>(s.sigma));
        members.push_back(m);
        member_sigma.push_back(s.sigma);
      }
      typename Network::cache cache;
      vec score, d_score(input.size());
      net_.forward(state_.weights(), batch, input, sigma, cache, score);
      double l = 0;
      for (std::size_t g = 0; g < members.size(); ++g) {
        const auto b = batch.variable_offset()[g], e = batch.variable_offset()[g + 1];
        l += dsm_loss(score.data() + b, target.data() + b, e - b, space::loss_weight(member_sigma[g]), weight, d_score.data() + b);
      }
      loss[mb] = l;
      state_.zero(slot[mb]);
      net_.backward(state_.weights(), batch, cache, d_score, slot[mb]);
    });
    if (opts_.sharing.size() > 1) exchange_micro_batches(own, loss, slot);
    state_.zero(grad);
    double total = 0;
    for (std::size_t mb = 0; mb < n_micro; ++mb) {  // fixed order: thread-independent sums
      total += loss[mb];
      state_.add(grad, slot[mb]);
    }
    return total;
  }

  /// Plain DSM loss (no perturbation) on @p data with fixed noise: comparable across models and epochs.
  double validation_loss(const training_set<space>& data) const {
    if (data.size() == 0) return std::numeric_limits<double>::quiet_NaN();
    double total = 0;
    gradient grad;
    for (std::size_t start = 0; start < data.size(); start += opts_.batch_molecules) {
      std::vector<std::size_t> mols;
      for (std::size_t m = start; m < std::min(data.size(), start + opts_.batch_molecules); ++m) mols.push_back(m);
      // Step keys far above any training step: validation noise never repeats training noise.
      total += batch_gradient_in_place(data, mols, 0xF0000000u + start, grad, false) *
               static_cast<double>(mols.size());
    }
    return total / static_cast<double>(data.size());
  }

  /// Order of molecules in epoch @p e (Fisher-Yates on the counter stream).
  std::vector<std::size_t> epoch_order(std::size_t n, std::size_t e) const {
    std::vector<std::size_t> idx(n);
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    const random::stream s(opts_.seed, random::purpose::shuffle, static_cast<std::uint32_t>(e));
    for (std::size_t i = n; i > 1; --i) std::swap(idx[i - 1], idx[s.below(static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i))]);
    return idx;
  }

  /// Trains until opts.epochs epochs are complete, or early stopping ends it (opts.early_stop_patience), or
  /// max_seconds passes.
  void fit(const training_set<space>& train, const training_set<space>* val = nullptr,
           training_observer* obs = nullptr) {
    if (train.size() == 0) throw invalid_argument("dsm_trainer::fit(): the training set is empty");
    space_header_ = space_entries(train);
    const auto t0 = std::chrono::steady_clock::now();
    const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    const std::size_t per_epoch = (train.size() + opts_.batch_molecules - 1) / opts_.batch_molecules;
    gradient grad;
    while (epoch_ < opts_.epochs && !stopped_early()) {
      const auto order = epoch_order(train.size(), epoch_);
      for (; batch_in_epoch_ < per_epoch; ++batch_in_epoch_) {
        std::vector<std::size_t> mols(order.begin() + batch_in_epoch_ * opts_.batch_molecules,
                                      order.begin() + std::min(train.size(), (batch_in_epoch_ + 1) * opts_.batch_molecules));
        const double loss = batch_gradient_in_place(train, mols, step_, grad);
        if (!std::isfinite(loss))
          throw error("dsm_trainer: the loss became " + std::to_string(loss) + " at step " + std::to_string(step_) +
                      " (lower the learning rate or enable gradient clipping)");
        const double gnorm = state_.step(grad, current_adam_settings(), step_);
        epoch_loss_ += loss;
        ++step_;
        if (obs) obs->on_step({step_, epoch_, loss, gnorm, lr_, elapsed()});
        if (opts_.checkpoint_every_steps && step_ % opts_.checkpoint_every_steps == 0 &&
            batch_in_epoch_ + 1 < per_epoch) {
          ++batch_in_epoch_;
          save(obs);
          --batch_in_epoch_;
        }
        bool time_is_up = opts_.max_seconds > 0 && elapsed() > opts_.max_seconds;
        if (opts_.max_seconds > 0 && opts_.sharing.size() > 1)  // rank 0's clock decides for all: they stop together
          time_is_up = opts_.sharing.all_gather(time_is_up ? "1" : "0").front() == "1";
        if (time_is_up) {
          ++batch_in_epoch_;
          save(obs);
          return;
        }
      }
      // End of epoch: validation, plateau schedule, best model, checkpoint.
      const double train_loss = epoch_loss_ / static_cast<double>(per_epoch);
      const double vloss = val ? validation_loss(*val) : train_loss;
      const bool improved = vloss < best_val_;
      if (improved) {
        best_val_ = vloss;
        bad_epochs_ = 0;
        if (!opts_.best_model_path.empty() && opts_.sharing.writes_files()) {
          save_weights(opts_.best_model_path);
          if (obs) obs->on_checkpoint(opts_.best_model_path);
        }
      } else if (++bad_epochs_ > opts_.plateau_patience) {
        lr_ = std::max(opts_.min_learning_rate, lr_ * opts_.plateau_factor);
        bad_epochs_ = 0;
      }
      ++epoch_;
      if (improved) {
        best_epoch_ = epoch_;
        best_epoch_recorded_ = true;
      }
      batch_in_epoch_ = 0;
      epoch_loss_ = 0;
      if (obs) obs->on_epoch({epoch_, train_loss, vloss, lr_, elapsed(), improved});
      save(obs);
    }
  }

  /// Header entries describing the model (shared by checkpoints and weight files).
  std::map<std::string, std::string> model_header() const {
    const auto& c = net_.config();
    std::map<std::string, std::string> h;
    h["model"] = Network::kind();
    h["space"] = space::name();
    h["hidden"] = std::to_string(c.hidden);
    h["layers"] = std::to_string(c.layers);
    h["atom_types"] = std::to_string(c.atom_types);
    h["edge_types"] = std::to_string(c.edge_types);
    h["perturbation"] = pert_.name();
    std::string levels;
    for (const auto s : levels_of(schedule_)) {
      if (!levels.empty()) levels += ',';
      levels += exact(s);
    }
    h["sigmas"] = levels;
    if constexpr (ContinuousNoiseSchedule<Schedule>) {  // training drew sigma from [min, max]
      h["sigma_max"] = exact(schedule_.sigma_max());
      h["sigma_min"] = exact(schedule_.sigma_min());
    }
    if constexpr (requires { net_.header_entries(); })  // network options beyond the common four
      for (const auto& [k, v] : net_.header_entries()) h[k] = v;
    for (const auto& [k, v] : space_header_) h[k] = v;  // what sampling the model again needs (e.g. torsion rule)
    for (const auto& [k, v] : opts_.extra_header) h[k] = v;
    h["seed"] = std::to_string(opts_.seed);
    h["parameters"] = std::to_string(state_.size());
    return h;
  }

  void save_weights(const std::string& path) const {
    checkpoint<scalar> c;
    c.header = model_header();
    c.header["epoch"] = std::to_string(epoch_);
    c.header["step"] = std::to_string(step_);
    c.header["validation_loss"] = exact(best_val_);
    const auto& p = state_.parameters();
    c.parameters.assign(p.begin(), p.end());
    save_checkpoint(path, c);
  }

  void save_checkpoint_file(const std::string& path) const {
    checkpoint<scalar> c;
    c.header = model_header();
    c.header["step"] = std::to_string(step_);
    c.header["epoch"] = std::to_string(epoch_);
    c.header["batch_in_epoch"] = std::to_string(batch_in_epoch_);
    c.header["epoch_loss"] = exact(epoch_loss_);
    c.header["learning_rate"] = exact(lr_);
    c.header["best_validation_loss"] = exact(best_val_);
    c.header["bad_epochs"] = std::to_string(bad_epochs_);
    c.header["best_epoch"] = std::to_string(best_epoch_);
    c.header["batch_molecules"] = std::to_string(opts_.batch_molecules);
    c.header["micro_batch"] = std::to_string(opts_.micro_batch);
    const auto& p = state_.parameters();
    c.parameters.assign(p.begin(), p.end());
    params m, v;
    state_.moments(m, v);
    c.adam_m.assign(m.begin(), m.end());
    c.adam_v.assign(v.begin(), v.end());
    save_checkpoint(path, c);
  }

  /// Continues from a checkpoint written by this trainer configuration.
  void resume(const std::string& path) { resume(load_checkpoint<scalar>(path), path); }

  /// Continues from the checkpoint @p c (read from @p path, named in errors). Nothing changes unless every check
  /// passes: the trainer's configuration, the batch layout, the parameter and optimiser-state counts and every
  /// training-state entry.
  void resume(const checkpoint<scalar>& c, const std::string& path) {
    const auto mine = model_header();
    for (const auto& [key, value] : mine) {
      // The training-domain entries were added to headers later; a checkpoint written before them has none,
      // and refusing it would strand a cut-off run. Where present they are compared like the rest.
      if (key.rfind("training_", 0) == 0 && !c.header.contains(key)) continue;
      if (c.at(key, path) != value)
        throw io_error(path, std::nullopt, std::nullopt,
                       "checkpoint was written for " + key + " = " + c.at(key, path) + ", this trainer has " + value);
    }
    for (const auto& [key, value] : {std::pair<std::string, std::size_t>{"batch_molecules", opts_.batch_molecules},
                                     {"micro_batch", opts_.micro_batch}})
      if (c.at(key, path) != std::to_string(value))
        throw io_error(path, std::nullopt, std::nullopt,
                       "checkpoint was written with " + key + " = " + c.at(key, path) + ", this trainer has " +
                           std::to_string(value) + " (resuming must keep the batch layout)");
    if (c.adam_m.empty())
      throw io_error(path, std::nullopt, std::nullopt, "weights-only model file: no optimiser state to resume from");
    if (c.parameters.size() != state_.size())
      throw io_error(path, std::nullopt, std::nullopt,
                     "holds " + std::to_string(c.parameters.size()) + " parameters, but its header describes a network of " +
                         std::to_string(state_.size()));
    if (c.adam_m.size() != state_.size() || c.adam_v.size() != state_.size())
      throw io_error(path, std::nullopt, std::nullopt,
                     "holds " + std::to_string(c.adam_m.size()) + " and " + std::to_string(c.adam_v.size()) +
                         " Adam moments for " + std::to_string(state_.size()) + " parameters");
    const auto count = [&](const std::string& key) {
      const auto v = parse_whole_number<std::uint64_t>(c.at(key, path));
      if (!v) throw io_error(path, std::nullopt, std::nullopt, "entry '" + key + "' is not a count ('" + c.at(key, path) + "')");
      return *v;
    };
    const auto finite = [&](const std::string& key) {
      const double v = c.number(key, path);
      // The best validation loss starts at +infinity (no validation yet); the others are always finite.
      if (std::isnan(v) || (key != "best_validation_loss" && !std::isfinite(v)))
        throw io_error(path, std::nullopt, std::nullopt, "entry '" + key + "' is not a finite number");
      return v;
    };
    const auto step = count("step"), epoch = count("epoch"), batch_in_epoch = count("batch_in_epoch"),
               bad_epochs = count("bad_epochs");
    const double epoch_loss = finite("epoch_loss"), lr = finite("learning_rate"),
                 best_val = finite("best_validation_loss");
    // Checkpoints from before early stopping have no best epoch: the count then starts where the run resumes.
    const bool best_epoch_recorded = c.header.contains("best_epoch");
    const auto best_epoch = best_epoch_recorded ? count("best_epoch") : epoch;
    if (best_epoch > epoch)
      throw io_error(path, std::nullopt, std::nullopt, "entry 'best_epoch' is after entry 'epoch'");
    state_.load(params(c.parameters.begin(), c.parameters.end()), params(c.adam_m.begin(), c.adam_m.end()),
                params(c.adam_v.begin(), c.adam_v.end()));
    step_ = step;
    epoch_ = static_cast<std::size_t>(epoch);
    batch_in_epoch_ = static_cast<std::size_t>(batch_in_epoch);
    epoch_loss_ = epoch_loss;
    lr_ = lr;
    best_val_ = best_val;
    bad_epochs_ = static_cast<std::size_t>(bad_epochs);
    best_epoch_recorded_ = best_epoch_recorded;
    best_epoch_ = static_cast<std::size_t>(best_epoch);
  }

 private:
  /// Sends this rank's micro-batch results (@p own) to every rank and receives theirs into @p loss and @p slot.
  /// The losses travel as bytes; so do the gradients, unless the state can gather them on its devices and the
  /// ranks offer a device gather (data_parallel::gathering_on_device).
  void exchange_micro_batches(const std::vector<std::size_t>& own, std::vector<double>& loss,
                              std::vector<gradient>& slot) const {
    bool on_device = false;
    if constexpr (requires { state_.gather_slots(slot, opts_.sharing); })
      on_device = static_cast<bool>(opts_.sharing.on_device());
    util::wire_writer& mine = exchange_;  // kept between steps: its capacity is reused
    mine.clear();
    const std::size_t n = state_.size(), values = on_device ? 0 : n;
    params host(n);  // otherwise a device state's slots travel through the host
    for (const std::size_t mb : own) {
      mine.u64(mb), mine.f64(loss[mb]);
      if (on_device) continue;
      state_.to_host(slot[mb], host);
      mine.values(host.data(), n);
    }
    std::vector<bool> have(slot.size(), false);
    const std::size_t record = 2 * sizeof(std::uint64_t) + values * sizeof(scalar);
    for (const auto& bytes : opts_.sharing.all_gather(mine.bytes())) {
      if (bytes.size() % record != 0)
        throw error("dsm_trainer: a rank sent " + std::to_string(bytes.size()) + " bytes of gradients, not whole "
                    "micro-batches (do all ranks train the same network?)");
      util::wire_reader in(bytes, "dsm_trainer (data-parallel step)");
      while (!in.done()) {
        const std::uint64_t mb = in.u64();
        if (mb >= slot.size() || have[mb])
          throw error("dsm_trainer: micro-batch " + std::to_string(mb) + " came twice or out of range (do all ranks "
                      "use the same batch layout?)");
        have[mb] = true;
        loss[mb] = in.f64();
        if (on_device) continue;
        in.values(host.data(), n);
        state_.from_host(host, slot[mb]);
      }
    }
    for (std::size_t mb = 0; mb < have.size(); ++mb)
      if (!have[mb]) throw error("dsm_trainer: no rank computed micro-batch " + std::to_string(mb));
    if constexpr (requires { state_.gather_slots(slot, opts_.sharing); })
      if (on_device) state_.gather_slots(slot, opts_.sharing);
  }

  void save(training_observer* obs) const {
    if (opts_.checkpoint_path.empty() || !opts_.sharing.writes_files()) return;
    save_checkpoint_file(opts_.checkpoint_path);
    if (obs) obs->on_checkpoint(opts_.checkpoint_path);
  }

  /// The space's model-file entries (Space::header_entries), the same for every molecule of @p data.
  static std::map<std::string, std::string> space_entries(const training_set<space>& data) {
    std::map<std::string, std::string> h;
    if constexpr (requires(const typename space::structure& st) { space::header_entries(st); }) {
      const auto add = [&](const typename space::structure& st, std::size_t m) {
        for (const auto& [k, v] : space::header_entries(st)) {
          const auto [it, fresh] = h.emplace(k, v);
          if (!fresh && it->second != v)
            throw invalid_argument("dsm_trainer::fit(): the training set mixes " + k + " '" + it->second + "' and '" +
                                   v + "' (molecule '" + data.ids[m] + "'); one model has one");
        }
      };
      for (std::size_t m = 0; m < data.size(); ++m) {
        add(data.structures[m], m);
        if (!data.conformer_structures.empty())
          for (const auto& st : data.conformer_structures[m]) add(st, m);
      }
    }
    return h;
  }

  adam_settings current_adam_settings() const {
    return {lr_, opts_.beta1, opts_.beta2, opts_.adam_epsilon, opts_.clip_grad_norm};
  }

  /// @p net, once @p opts are usable (runs before the state is built from the network).
  static const Network& checked_options(const Network& net, const trainer_options& opts) {
    if (opts.batch_molecules == 0 || opts.micro_batch == 0)
      throw invalid_argument("dsm_trainer: batch_molecules and micro_batch must be > 0");
    return net;
  }

  Network net_;
  Schedule schedule_;
  Pert pert_;
  trainer_options opts_;
  std::map<std::string, std::string> space_header_;  ///< space_entries() of the data fit() was given
  state_type state_;
  std::uint64_t step_ = 0;
  std::size_t epoch_ = 0, batch_in_epoch_ = 0, bad_epochs_ = 0, best_epoch_ = 0;
  bool best_epoch_recorded_ = true;
  double epoch_loss_ = 0, lr_ = 1e-3, best_val_ = std::numeric_limits<double>::infinity();
  mutable util::wire_writer exchange_;  ///< data-parallel send buffer (exchange_micro_batches), reused every step
};

}  // namespace confsgm::train
