// confsgm/generate/noise_streams.hpp: which noise streams each molecule of a
// multi-molecule run draws from.
//
// A run keys its Philox streams (molecule << 16) + conformer in 32 bits, never
// by thread: the thread count and the batching of molecules into launches
// change the speed only, and a resumed run draws what an uninterrupted one did.
#pragma once

#include "confsgm/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace confsgm::generate {

inline constexpr unsigned conformer_stream_bits = 16;
/// More conformers of one molecule would repeat the next molecule's noise.
inline constexpr std::size_t max_conformers_per_molecule = std::size_t{1} << conformer_stream_bits;
/// One more molecule would reuse molecule 0's streams.
inline constexpr std::size_t max_molecules_per_run = std::size_t{1} << (32 - conformer_stream_bits);

/// The first noise stream of molecule @p molecule: the sampler options' stream_offset. Conformer c of the
/// molecule draws from stream_offset(molecule) + c.
inline std::uint32_t stream_offset(std::size_t molecule) {
  if (molecule >= max_molecules_per_run)
    throw invalid_argument("generate::stream_offset(): molecule " + std::to_string(molecule) + " of a run; a run "
                           "holds at most " + std::to_string(max_molecules_per_run) +
                           " molecules (their noise streams would repeat): split the input");
  return static_cast<std::uint32_t>(molecule) << conformer_stream_bits;
}

/// Noise stream of conformer @p conformer of molecule @p molecule.
inline std::uint32_t stream_key(std::size_t molecule, std::size_t conformer) {
  if (conformer >= max_conformers_per_molecule)
    throw invalid_argument("generate::stream_key(): conformer " + std::to_string(conformer) + "; a molecule has at most " +
                           std::to_string(max_conformers_per_molecule) + " conformers per run");
  return stream_offset(molecule) + static_cast<std::uint32_t>(conformer);
}

}  // namespace confsgm::generate
