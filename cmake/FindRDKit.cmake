# FindRDKit
# ---------
# Finds the RDKit C++ libraries. Debian's librdkit-dev ships neither a CMake
# config nor a pkg-config file, so this module locates the headers and the
# libRDKit<Name>.so libraries directly.
#
# Result: RDKit_FOUND, RDKit_INCLUDE_DIRS, RDKit_LIBRARIES, RDKit_VERSION and the
# imported INTERFACE target RDKit::RDKit that links the libraries confsgm needs
# (SMILES/MolBlock I/O, ETKDG, MMFF, alignment, substructure, CIP labels).
#
# Hints: RDKit_ROOT or the RDBASE environment variable.

set(_rdkit_hints ${RDKit_ROOT} $ENV{RDKit_ROOT} $ENV{RDBASE} $ENV{CONDA_PREFIX})

find_path(RDKit_INCLUDE_DIR
  NAMES GraphMol/ROMol.h
  HINTS ${_rdkit_hints}
  PATH_SUFFIXES include/rdkit rdkit Code)

set(_rdkit_components
  DistGeomHelpers DistGeometry ForceFieldHelpers ForceField MolAlign Alignment
  SmilesParse FileParsers SubstructMatch CIPLabeler Depictor ChemTransforms
  Descriptors GraphMol EigenSolvers Optimizer Trajectory RDGeometryLib DataStructs RDGeneral)

set(RDKit_LIBRARIES "")
set(_rdkit_missing "")
foreach(_comp IN LISTS _rdkit_components)
  find_library(RDKit_${_comp}_LIBRARY
    NAMES RDKit${_comp} ${_comp}
    HINTS ${_rdkit_hints}
    PATH_SUFFIXES lib lib64)
  if(RDKit_${_comp}_LIBRARY)
    list(APPEND RDKit_LIBRARIES ${RDKit_${_comp}_LIBRARY})
  else()
    list(APPEND _rdkit_missing ${_comp})
  endif()
  mark_as_advanced(RDKit_${_comp}_LIBRARY)
endforeach()

# The headers carry no version (versions.h is an unconfigured template on
# Debian), so read it off the versioned library file name.
if(RDKit_RDGeneral_LIBRARY)
  get_filename_component(_rdkit_real "${RDKit_RDGeneral_LIBRARY}" REALPATH)
  string(REGEX MATCH "[0-9][0-9][0-9][0-9]\\.[0-9]+\\.[0-9]+$" RDKit_VERSION "${_rdkit_real}")
endif()

include(FindPackageHandleStandardArgs)
set(_rdkit_all_libs_found TRUE)
if(_rdkit_missing)
  set(_rdkit_all_libs_found FALSE)
  if(NOT RDKit_FIND_QUIETLY)
    message(STATUS "FindRDKit: missing RDKit libraries: ${_rdkit_missing}")
  endif()
endif()
find_package_handle_standard_args(RDKit
  REQUIRED_VARS RDKit_INCLUDE_DIR _rdkit_all_libs_found
  VERSION_VAR RDKit_VERSION)

if(RDKit_FOUND)
  set(RDKit_INCLUDE_DIRS ${RDKit_INCLUDE_DIR})
  find_package(Boost QUIET)  # RDKit's public headers include Boost headers
  find_package(Threads REQUIRED)
  if(NOT TARGET RDKit::RDKit)
    add_library(RDKit::RDKit INTERFACE IMPORTED)
    set_target_properties(RDKit::RDKit PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${RDKit_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "${RDKit_LIBRARIES};Threads::Threads"
      # The libraries are built with thread-safe substructure search, which
      # changes class layouts; no installed header says so, so every consumer
      # must define it.
      INTERFACE_COMPILE_DEFINITIONS "RDK_BUILD_THREADSAFE_SSS")
    if(Boost_FOUND)
      set_property(TARGET RDKit::RDKit APPEND PROPERTY
        INTERFACE_INCLUDE_DIRECTORIES "${Boost_INCLUDE_DIRS}")
    endif()
  endif()
endif()
mark_as_advanced(RDKit_INCLUDE_DIR)
