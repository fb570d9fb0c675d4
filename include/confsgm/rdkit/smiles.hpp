// confsgm/rdkit/smiles.hpp: SMILES -> molecule with explicit hydrogens, and
// SMILES list files (.smi: "SMILES [name]" per line; .csv with a header naming
// a `smiles` column). Every rejected input is reported with its file, line and
// reason; the rest are still returned.
#pragma once

#include "confsgm/rdkit/convert.hpp"
#include "confsgm/util/parse.hpp"

#include <GraphMol/SanitException.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>

#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace confsgm::rdkit {

/// A molecule ready for generation: RDKit form (explicit H) and confsgm graph.
struct molecule {
  std::string id;
  std::string smiles;                        ///< as given
  std::shared_ptr<const RDKit::ROMol> mol;   ///< sanitised, hydrogens explicit
  molecule_graph graph;
  std::optional<std::size_t> n_reference;    ///< reference conformer count, when the input lists one
};

struct smiles_options {
  bool allow_fragments = false;  ///< accept salts/mixtures ("." in SMILES)
};

/// Validation shared by every reader: real elements only, one fragment.
inline void check_chemistry(const RDKit::ROMol& mol, const std::string& what, bool allow_fragments) {
  if (mol.getNumAtoms() == 0) throw chemistry_error(what + ": the molecule has no atoms");
  for (const auto* a : mol.atoms())
    if (!is_element(static_cast<unsigned>(a->getAtomicNum())))
      throw chemistry_error(what + ": atom " + std::to_string(a->getIdx() + 1) +
                            " is a dummy or unknown element ('" + a->getSymbol() + "')");
  if (!allow_fragments) {
    const auto n = count_fragments(mol);
    if (n > 1)
      throw chemistry_error(what + ": the molecule has " + std::to_string(n) +
                            " disconnected fragments; conformer generation needs one covalent "
                            "molecule (strip salts/counter-ions first)");
  }
}

namespace detail {
/// The checked molecule with explicit hydrogens, its graph and names (shared by from_smiles and from_rdkit).
inline molecule with_hydrogens(const RDKit::ROMol& parsed, const std::string& id, const std::string& smiles,
                               const std::string& what, const smiles_options& opts) {
  check_chemistry(parsed, what, opts.allow_fragments);
  std::shared_ptr<RDKit::ROMol> with_h(RDKit::MolOps::addHs(parsed, false, false));
  molecule m;
  m.id = id;
  m.smiles = smiles;
  m.graph = to_graph(*with_h, id.empty() ? smiles : id);
  m.mol = std::move(with_h);
  return m;
}
}  // namespace detail

/// Parses @p smiles (named @p id in messages), adds explicit hydrogens.
inline molecule from_smiles(const std::string& smiles, const std::string& id,
                            const smiles_options& opts = {}) {
  const std::string what = "SMILES '" + smiles + "'" + (id.empty() ? "" : " (" + id + ")");
  if (smiles.find_first_not_of(" \t\r\n") == std::string::npos)
    throw chemistry_error(what + ": empty SMILES");
  std::unique_ptr<RDKit::RWMol> parsed;
  try {
    RDKit::SmilesParserParams params;
    params.sanitize = true;
    params.removeHs = true;
    parsed.reset(RDKit::SmilesToMol(smiles, params));
  } catch (const RDKit::MolSanitizeException& e) {
    throw chemistry_error(what + ": chemically invalid (" + std::string(e.what()) + ")");
  } catch (const std::exception& e) {
    throw chemistry_error(what + ": could not be parsed (" + std::string(e.what()) + ")");
  }
  if (!parsed) throw chemistry_error(what + ": could not be parsed (SMILES syntax error)");
  return detail::with_hydrogens(*parsed, id, smiles, what, opts);
}

/// A molecule another C++ code already holds as RDKit's (sanitised; hydrogens may be implicit or explicit, and are
/// made explicit): the way in for programs that embed confsgm. Named @p id in messages and output; its SMILES
/// is RDKit's canonical isomeric SMILES of @p mol.
inline molecule from_rdkit(const RDKit::ROMol& mol, const std::string& id, const smiles_options& opts = {}) {
  const std::string smiles = RDKit::MolToSmiles(mol);
  return detail::with_hydrogens(mol, id, smiles, "molecule " + (id.empty() ? smiles : "'" + id + "' (" + smiles + ")"),
                                opts);
}

struct smiles_file_result {
  std::vector<molecule> molecules;
  std::vector<io_error> errors;  ///< one per rejected line
};

namespace detail {
inline std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') cur += c;
  }
  out.push_back(cur);
  return out;
}
}  // namespace detail

/// The list in @p in, read by the rules of read_smiles_file() (below); @p path names it in errors and ids, and @p csv says
/// whether it is a CSV table (read_smiles_file decides by the .csv suffix).
inline smiles_file_result read_smiles_list(std::istream& in, const std::string& path, bool csv,
                                           const smiles_options& opts = {}) {
  smiles_file_result out;
  std::string stem = path.substr(path.find_last_of('/') + 1);
  stem = stem.substr(0, stem.find('.'));
  std::string line;
  std::size_t line_no = 0;
  int smiles_col = -1, id_col = -1, nconf_col = -1;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
    std::string smiles, id;
    std::optional<std::size_t> n_ref;
    if (csv) {
      const auto cells = detail::split_csv_line(line);
      if (smiles_col < 0) {
        for (int c = 0; c < static_cast<int>(cells.size()); ++c) {
          if (cells[c] == "smiles" && smiles_col < 0) smiles_col = c;
          if (cells[c] == "corrected_smiles") smiles_col = c;
          if (cells[c] == "id" || cells[c] == "name" || cells[c] == "mol_id") id_col = c;
          if (cells[c] == "n_conformers") nconf_col = c;
        }
        if (smiles_col < 0)
          throw io_error(path, line_no, std::nullopt, "the CSV header names no 'smiles' column");
        continue;
      }
      if (static_cast<int>(cells.size()) <= smiles_col) {
        out.errors.emplace_back(path, line_no, std::nullopt, "the row has no SMILES cell");
        continue;
      }
      smiles = cells[smiles_col];
      if (id_col >= 0 && id_col < static_cast<int>(cells.size())) id = cells[id_col];
      // An empty or missing cell means "not listed"; anything else must be a whole number in full.
      if (nconf_col >= 0 && nconf_col < static_cast<int>(cells.size()) && !cells[nconf_col].empty()) {
        n_ref = parse_whole_number<std::size_t>(cells[nconf_col]);
        if (!n_ref) {
          out.errors.emplace_back(path, line_no, std::nullopt, "n_conformers '" + cells[nconf_col] + "' is not a count");
          continue;
        }
      }
    } else {
      std::istringstream ls(line);
      ls >> smiles;
      std::getline(ls >> std::ws, id);
    }
    if (id.empty()) id = stem + "_" + std::to_string(line_no);
    try {
      auto m = from_smiles(smiles, id, opts);
      m.n_reference = n_ref;
      out.molecules.push_back(std::move(m));
    } catch (const error& e) {
      out.errors.emplace_back(path, line_no, std::nullopt, e.what());
    }
  }
  if (in.bad()) throw io_error(path, std::nullopt, std::nullopt, "read failed");
  return out;
}

/// Reads a .smi or .csv list of molecules. Ids default to "<file stem>_<line>".
/// CSV: the header must name a `smiles` (or `corrected_smiles`, preferred) column;
/// optional `id`/`name` and `n_conformers` columns are used when present (an empty count cell: none listed).
inline smiles_file_result read_smiles_file(const std::string& path, const smiles_options& opts = {}) {
  std::ifstream in(path);
  if (!in) throw io_error(path, std::nullopt, std::nullopt, "cannot open the file for reading");
  const bool csv = path.size() >= 4 && path.compare(path.size() - 4, 4, ".csv") == 0;
  return read_smiles_list(in, path, csv, opts);
}

/// Canonical SMILES of @p mol without hydrogens (isomeric when asked).
inline std::string canonical_smiles(const RDKit::ROMol& mol, bool isomeric = true) {
  std::unique_ptr<RDKit::ROMol> noh(RDKit::MolOps::removeHs(mol));
  return RDKit::MolToSmiles(*noh, isomeric);
}

}  // namespace confsgm::rdkit
