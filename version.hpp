/// @file
/// tapenet's version (CMakeLists.txt checks it equals project(VERSION)).
#pragma once

#define TAPENET_VERSION_MAJOR 0
#define TAPENET_VERSION_MINOR 2
#define TAPENET_VERSION_PATCH 0
#define TAPENET_VERSION_STRING "0.2.0"
/// For comparisons: TAPENET_VERSION >= TAPENET_MAKE_VERSION(0, 2, 0).
#define TAPENET_MAKE_VERSION(major, minor, patch) ((major) * 10000 + (minor) * 100 + (patch))
#define TAPENET_VERSION TAPENET_MAKE_VERSION(TAPENET_VERSION_MAJOR, TAPENET_VERSION_MINOR, TAPENET_VERSION_PATCH)
