// confsgm/sample/network_score.hpp: a trained network and its parameters as
// the score model a sampler calls, in either state space.
#pragma once

#include "confsgm/model/parameters.hpp"

#include <vector>

namespace confsgm::sample {

/// Binds a score network to its parameters: score(batch, state, sigma, out) runs the network's forward pass.
/// The batch type is the network's (graph_batch for distances, torsion_batch for torsions).
template <class Network>
class network_score {
 public:
  using scalar = typename Network::scalar_type;
  network_score(const Network& net, const model::parameter_vector<scalar>& params) : net_(net), params_(params) {}
  template <class Batch>
  void operator()(const Batch& b, const std::vector<scalar>& state, const std::vector<scalar>& sigma,
                  std::vector<scalar>& out) const {
    // One cache per thread, kept across calls: a sampler evaluates the same shapes thousands of times, and
    // fresh buffers each time cost more in page faults than the arithmetic.
    thread_local typename Network::cache c;
    net_.forward(params_, b, state, sigma, c, out);
  }

 private:
  const Network& net_;
  const model::parameter_vector<scalar>& params_;
};

/// The names the samplers' documentation uses: per-pair distance scores, per-torsion scores.
template <class Network>
using network_pair_score = network_score<Network>;
template <class Network>
using network_torsion_score = network_score<Network>;

}  // namespace confsgm::sample
