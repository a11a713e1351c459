# Which Cap'n Proto the build uses (README "Build"; scripts/capnp.sh):
#   SEAMS_CAPNP=bundled (default)  1.1.0, built static by scripts/deps.sh into SEAMS_CAPNP_PREFIX
#   SEAMS_CAPNP=system             Debian 12's packaged 0.9.2 (libcapnp-dev)
# The schema compiler always comes from the same installation as the library (capnp and
# capnpc-c++ of the chosen prefix), so generated code and headers agree; the generated headers
# check that themselves (#error on a CAPNP_VERSION mismatch).
set(SEAMS_CAPNP "bundled" CACHE STRING
    "Cap'n Proto to build against: bundled (1.1.0 from scripts/deps.sh) | system (Debian 12's 0.9.2)")
set_property(CACHE SEAMS_CAPNP PROPERTY STRINGS bundled system)
set(SEAMS_CAPNP_PREFIX "${PROJECT_SOURCE_DIR}/build/_deps/capnproto-1.1.0" CACHE PATH
    "Install prefix of the bundled Cap'n Proto (scripts/capnp.sh --prefix)")

if(NOT SEAMS_CAPNP MATCHES "^(bundled|system)$")
  message(FATAL_ERROR "SEAMS_CAPNP is '${SEAMS_CAPNP}': use bundled (1.1.0) or system (0.9.2)")
endif()

# find_package keeps what an earlier configure found in the cache (the package's directory and the
# two compilers, which CapnProtoConfig.cmake caches): a build dir switched from one choice to the
# other, or one configured before this option existed, must look again.
if(NOT "${SEAMS_CAPNP}|${SEAMS_CAPNP_PREFIX}" STREQUAL "${_SEAMS_CAPNP_FOUND_FOR}")
  unset(CapnProto_DIR CACHE)
  unset(CAPNP_EXECUTABLE CACHE)
  unset(CAPNPC_CXX_EXECUTABLE CACHE)
endif()

if(SEAMS_CAPNP STREQUAL "bundled")
  if(NOT EXISTS "${SEAMS_CAPNP_PREFIX}/.seams-stamp"
     OR NOT EXISTS "${SEAMS_CAPNP_PREFIX}/lib/cmake/CapnProto/CapnProtoConfig.cmake")
    message(FATAL_ERROR
      "Cap'n Proto 1.1.0 is not built at ${SEAMS_CAPNP_PREFIX}.\n"
      "Run scripts/deps.sh (as root: packages, then scripts/capnp.sh) or scripts/capnp.sh alone, "
      "or configure with -DSEAMS_CAPNP=system to use Debian 12's Cap'n Proto 0.9.2.")
  endif()
  find_package(CapnProto 1.1.0 EXACT REQUIRED CONFIG PATHS "${SEAMS_CAPNP_PREFIX}" NO_DEFAULT_PATH)
else()
  find_package(CapnProto REQUIRED CONFIG)
endif()
set(_SEAMS_CAPNP_FOUND_FOR "${SEAMS_CAPNP}|${SEAMS_CAPNP_PREFIX}" CACHE INTERNAL "")
message(STATUS "Cap'n Proto ${CapnProto_VERSION} (SEAMS_CAPNP=${SEAMS_CAPNP}) from ${CapnProto_DIR}")
