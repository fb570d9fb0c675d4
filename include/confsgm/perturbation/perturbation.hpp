// confsgm/perturbation/perturbation.hpp: the Perturbation policy of denoising
// score matching: given the DSM noise eps (and, only if the policy asks, an
// extra draw xi), what displacement does the network see as input, and which
// displacement defines the training target?
//
//   no_perturbation            input  sigma eps            target from sigma eps
//   input_perturbation{l}      input  sigma (eps + l xi)   target from sigma eps   (paper Eq. 4, Alg. 3; DDPM-IP)
//   absolute_perturbation{w}   input  sigma eps + w xi     target from the same total (TD-IP code, reference-spec §3)
//
// The default for the paper's experiments is input_perturbation (the paper's
// formula); absolute_perturbation reproduces the public torsional code.
#pragma once

#include "confsgm/error.hpp"

#include <cmath>
#include <concepts>
#include <cstddef>
#include <string>

namespace confsgm {

/// A Perturbation states whether it needs xi (`needs_extra_noise`) and maps
/// (sigma, eps, xi) to the input and target displacements of one variable.
template <class P>
concept Perturbation = requires(const P& p, double sigma, double eps, double xi) {
  { P::needs_extra_noise } -> std::convertible_to<bool>;
  { p.input_displacement(sigma, eps, xi) } -> std::convertible_to<double>;
  { p.target_displacement(sigma, eps, xi) } -> std::convertible_to<double>;
  { p.name() } -> std::convertible_to<std::string>;
};

struct no_perturbation {
  static constexpr bool needs_extra_noise = false;
  static constexpr double input_displacement(double sigma, double eps, double) noexcept { return sigma * eps; }
  static constexpr double target_displacement(double sigma, double eps, double) noexcept { return sigma * eps; }
  static std::string name() { return "none"; }
};

struct input_perturbation {
  static constexpr bool needs_extra_noise = true;
  double lambda = 0.1;
  explicit input_perturbation(double l = 0.1) : lambda(l) {
    if (!(l >= 0) || !std::isfinite(l))
      throw invalid_argument("input_perturbation: lambda must be finite and >= 0, got " + std::to_string(l));
  }
  /// lambda = 0 gives sigma * (eps + 0) == sigma * eps exactly: bit-identical to no_perturbation.
  double input_displacement(double sigma, double eps, double xi) const noexcept { return sigma * (eps + lambda * xi); }
  static constexpr double target_displacement(double sigma, double eps, double) noexcept { return sigma * eps; }
  std::string name() const { return "ip(lambda=" + std::to_string(lambda) + ")"; }
};

struct absolute_perturbation {
  static constexpr bool needs_extra_noise = true;
  double weight = 0.1;
  explicit absolute_perturbation(double w = 0.1) : weight(w) {
    if (!(w >= 0) || !std::isfinite(w))
      throw invalid_argument("absolute_perturbation: weight must be finite and >= 0, got " + std::to_string(w));
  }
  double input_displacement(double sigma, double eps, double xi) const noexcept { return sigma * eps + weight * xi; }
  double target_displacement(double sigma, double eps, double xi) const noexcept { return sigma * eps + weight * xi; }
  std::string name() const { return "td-ip-code(w=" + std::to_string(weight) + ")"; }
};

static_assert(Perturbation<no_perturbation>, "no_perturbation must model Perturbation");
static_assert(Perturbation<input_perturbation>, "input_perturbation must model Perturbation");
static_assert(Perturbation<absolute_perturbation>, "absolute_perturbation must model Perturbation");

}  // namespace confsgm
