// confsgm/rdkit/sampled_conformers.hpp: a score-model sampler's output for one
// molecule as conformers with the input's chemistry checked: samples that did
// not finish are dropped (with their status), every written conformer's R/S and
// E/Z labels are compared with the input's, and a distance-space sample with
// the wrong handedness can be replaced by its mirror image.
#pragma once

#include "confsgm/rdkit/etkdg.hpp"
#include "confsgm/rdkit/stereo.hpp"
#include "confsgm/sample/status.hpp"

#include <concepts>
#include <string>
#include <utility>
#include <vector>

namespace confsgm::rdkit {

/// What to do with a sample whose stereo is wrong. Interatomic distances cannot tell a conformer from its mirror
/// image, so a distance-space sampler draws both handednesses; `reflect` writes the mirror image instead when the
/// image has the input's stereo (E/Z errors and partly inverted centres remain and are reported). Torsion-space
/// samples keep the input's chirality by construction: `keep`.
enum class mirror_images { keep, reflect };

inline std::string to_string(mirror_images m) { return m == mirror_images::reflect ? "reflect" : "keep"; }
inline mirror_images parse_mirror_images(const std::string& s) {
  if (s == "reflect") return mirror_images::reflect;
  if (s == "keep") return mirror_images::keep;
  throw invalid_argument("mirror-image policy must be 'reflect' or 'keep', got '" + s + "'");
}

/// Compares conformers of one molecule with the stereo its input specifies, on one reusable RDKit copy.
class stereo_check {
 public:
  explicit stereo_check(const molecule& m) : graph_(&m.graph), expected_(specified_stereo(m.graph)), probe_(*m.mol) {}

  /// Empty when @p xyz honours every R/S and E/Z label of the input, else what differs.
  std::string problem(const coordinates<double>& xyz) {
    probe_.clearConformers();
    set_coordinates(probe_, xyz);
    return stereo_mismatch(expected_, stereo_from_3d(probe_), *graph_);
  }

 private:
  const molecule_graph* graph_;
  stereo_labels expected_;
  RDKit::RWMol probe_;
};

/// The mirror image of @p xyz (x -> -x): the same interatomic distances, the opposite handedness.
inline coordinates<double> mirror_image(const coordinates<double>& xyz) {
  coordinates<double> mirrored = xyz;
  mirrored.col(0) *= -1.0;
  return mirrored;
}

/// Sampler output for @p m as conformers: sample c (of @p n, with @p status[c]) gives conformer
/// @p coordinates_of(c) when it finished, titled "<id>_conf<c>". Unfinished samples go to `dropped`.
template <class CoordinatesOf>
  requires std::invocable<CoordinatesOf&, std::size_t>
generated_conformers collect_samples(const molecule& m, std::size_t n, const std::vector<sample::sample_status>& status,
                                     CoordinatesOf&& coordinates_of, mirror_images mirrors) {
  if (status.size() != n)
    throw shape_mismatch("rdkit::collect_samples(): " + std::to_string(status.size()) + " sample statuses for " +
                         std::to_string(n) + " samples of '" + m.id + "'");
  generated_conformers res;
  res.requested = n;
  res.mol = m.mol;
  res.conformers = ensemble<double>(m.id, m.graph);
  stereo_check check(m);
  for (std::size_t c = 0; c < n; ++c) {
    if (!status[c].ok()) {
      res.dropped.push_back({c, status[c]});
      continue;
    }
    coordinates<double> xyz = coordinates_of(c);
    conformer_info info;
    info.title = m.id + "_conf" + std::to_string(c);
    auto problem = check.problem(xyz);
    if (!problem.empty() && mirrors == mirror_images::reflect) {
      auto mirrored = mirror_image(xyz);
      if (check.problem(mirrored).empty()) {
        xyz = std::move(mirrored);
        problem.clear();
        info.status = "ok (mirror image of the sample)";
        ++res.reflected;
      }
    }
    if (!problem.empty()) {
      info.status = "stereo mismatch: " + problem;
      ++res.stereo_mismatches;
    }
    res.conformers.add(xyz, std::move(info));
  }
  res.embedded = res.conformers.size();
  return res;
}

}  // namespace confsgm::rdkit
