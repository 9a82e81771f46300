# Warnings are errors on our own code only.
function(lunadb_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Werror)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 at -O3 reports impossible -Wrestrict overlaps inside std::string (GCC bug 105329),
    # which would break a plain Release build; the warning stays on for other compilers.
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(LUNADB_SANITIZE)
    # GCC 12 reports false "maybe uninitialized" warnings inside libstdc++ (std::regex,
    # std::function) when sanitizers change inlining; the normal build keeps the warning.
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
endfunction()

# lunadb_component(NAME [DEPS comp...] [LIBS target...])
# A static library lunadb_NAME from src/NAME/*.cpp. Headers under src/ are visible to the
# components that declare a dependency; the public API lives in include/lunadb/.
function(lunadb_component name)
  cmake_parse_arguments(ARG "" "" "DEPS;LIBS" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${name}/*.cpp)
  if(NOT sources)
    # A component whose sources are not written yet still links.
    set(sources ${CMAKE_BINARY_DIR}/generated/empty_${name}.cpp)
    file(WRITE ${sources} "// empty component\n")
  endif()
  add_library(lunadb_${name} STATIC ${sources})
  target_include_directories(lunadb_${name}
    PUBLIC ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src)
  foreach(dep IN LISTS ARG_DEPS)
    target_link_libraries(lunadb_${name} PUBLIC lunadb_${dep})
  endforeach()
  target_link_libraries(lunadb_${name} PUBLIC ${ARG_LIBS})
  lunadb_warnings(lunadb_${name})
endfunction()
