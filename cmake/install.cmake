# Install rules and the CMake package (find_package(tapenet) -> tapenet::tapenet).
# Included from the top-level CMakeLists.txt after the tapenet target is defined.
#
#   <prefix>/lib/libtapenet.a, libtapenet_distributed.a (tapenet::distributed, on MPI)
#   <prefix>/include/tapenet/{autograd,io,optim,layers,data,distributed}/*.hpp (+ tapenet.hpp if present)
#   <prefix>/lib/cmake/tapenet/tapenet{Config,ConfigVersion,Targets*}.cmake
#
# Consumers include <tapenet/tapenet.hpp> (or <tapenet/layers/crf.hpp>, ...): the target's
# INSTALL_INTERFACE include dirs are include (for them) and include/tapenet (for the
# headers' includes of one another).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TAPENET_INSTALL_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}/tapenet")
set(TAPENET_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/tapenet")

install(TARGETS tapenet tapenet_distributed
  EXPORT tapenetTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Headers, keeping their folder: autograd/ops.hpp -> include/tapenet/autograd/ops.hpp.
# Globbed with CONFIGURE_DEPENDS so headers added later are installed without a manual
# re-configure.
foreach(_tapenet_dir autograd io optim layers data distributed)
  file(GLOB_RECURSE _tapenet_headers CONFIGURE_DEPENDS
    RELATIVE ${PROJECT_SOURCE_DIR}
    ${PROJECT_SOURCE_DIR}/${_tapenet_dir}/*.hpp
    ${PROJECT_SOURCE_DIR}/${_tapenet_dir}/*.h
    ${PROJECT_SOURCE_DIR}/${_tapenet_dir}/*.ipp
    ${PROJECT_SOURCE_DIR}/${_tapenet_dir}/*.tpp)
  foreach(_tapenet_header ${_tapenet_headers})
    get_filename_component(_tapenet_header_dir ${_tapenet_header} DIRECTORY)
    install(FILES ${PROJECT_SOURCE_DIR}/${_tapenet_header}
      DESTINATION ${TAPENET_INSTALL_INCLUDEDIR}/${_tapenet_header_dir})
  endforeach()
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/tapenet.hpp ${PROJECT_SOURCE_DIR}/version.hpp
        DESTINATION ${TAPENET_INSTALL_INCLUDEDIR})

install(EXPORT tapenetTargets
  NAMESPACE tapenet::
  FILE tapenetTargets.cmake
  DESTINATION ${TAPENET_INSTALL_CMAKEDIR})

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/tapenetConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/tapenetConfig.cmake
  INSTALL_DESTINATION ${TAPENET_INSTALL_CMAKEDIR})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cmake/tapenetConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/cmake/tapenetConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/tapenetConfigVersion.cmake
  DESTINATION ${TAPENET_INSTALL_CMAKEDIR})
