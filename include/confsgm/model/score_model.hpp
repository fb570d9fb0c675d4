// confsgm/model/score_model.hpp: one name for "the score network of this space, in this scalar type, running
// here": model::score_model<Space, Scalar, Execution>. The trainer, every sampler and the exposure-bias estimator
// take whatever it names, so moving a program from the CPU to the GPU is this one type:
//
//   using network = model::score_model<distance_space, float>;                        // the host (Eigen)
//   using network = model::score_model<distance_space, float, backend::cuda_device>;  // + backend/cuda/score_model.cuh
//
// The host's networks are declared here; the device's are a peer, declared by the CUDA backend's own header
// (nvcc only), so the core never includes a kernel. A third space adds its network the same way (docs/design.md).
#pragma once

#include "confsgm/backend/execution.hpp"
#include "confsgm/model/distance_score_network.hpp"
#include "confsgm/model/score_network.hpp"
#include "confsgm/model/torsion_score_network.hpp"
#include "confsgm/space/distance_space.hpp"
#include "confsgm/space/torsion_space.hpp"

#include <concepts>

namespace confsgm::model {

namespace detail {
template <class>
inline constexpr bool no_score_model = false;
}

/// Trait behind score_model: `type` is the network. Specialised for every (space, scalar, execution) that has
/// one; the primary template says what is missing.
template <class Space, class Scalar, class Execution>
struct score_model_for {
  static_assert(detail::no_score_model<Space>,
                "score_model<Space, Scalar, Execution>: no network for this combination. The host has distance_space "
                "and torsion_space in float or double (model/score_model.hpp); backend::cuda_device has both spaces "
                "in float once confsgm/backend/cuda/score_model.cuh is included (nvcc, target confsgm::cuda); a new "
                "space specialises score_model_for with its network");
};

template <std::floating_point Scalar>
struct score_model_for<distance_space, Scalar, backend::host> {
  using type = distance_score_network<Scalar>;
};
template <std::floating_point Scalar>
struct score_model_for<torsion_space, Scalar, backend::host> {
  using type = torsion_score_network<Scalar>;
};

/// The score network of @p Space in @p Scalar on @p Execution (a ScoreNetwork, checked here).
template <class Space, class Scalar, class Execution = backend::host>
using score_model = typename score_model_for<Space, Scalar, Execution>::type;

static_assert(ScoreNetwork<score_model<distance_space, float>> && ScoreNetwork<score_model<torsion_space, double>>,
              "the host's score models must model ScoreNetwork");

}  // namespace confsgm::model
