// confsgm/core/element.hpp: the periodic table by symbol, enough to name atoms
// in messages and files and to reject symbols that are not elements.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace confsgm {

inline constexpr std::uint8_t max_atomic_number = 118;

namespace detail {
inline constexpr std::array<std::string_view, max_atomic_number + 1> element_symbols = {
    "*",  "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na", "Mg", "Al", "Si",
    "P",  "S",  "Cl", "Ar", "K",  "Ca", "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu",
    "Zn", "Ga", "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo", "Tc", "Ru",
    "Rh", "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr",
    "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W",
    "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac",
    "Th", "Pa", "U",  "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf",
    "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og"};
}  // namespace detail

/// Symbol of element @p z ("*" for 0, the dummy atom; "?" outside 0..118).
constexpr std::string_view element_symbol(unsigned z) noexcept {
  return z <= max_atomic_number ? detail::element_symbols[z] : std::string_view("?");
}

/// Atomic number of @p symbol (case-sensitive, as in files), or nothing.
constexpr std::optional<std::uint8_t> atomic_number(std::string_view symbol) noexcept {
  for (unsigned z = 1; z <= max_atomic_number; ++z)
    if (detail::element_symbols[z] == symbol) return static_cast<std::uint8_t>(z);
  return std::nullopt;
}

/// True for a real element (1..118); 0 is a dummy/query atom.
constexpr bool is_element(unsigned z) noexcept { return z >= 1 && z <= max_atomic_number; }

}  // namespace confsgm
