# Compiles every file of a revisions folder into the binary as byte arrays, so that an
# installed lunadb needs no source tree. Regenerated whenever a revision file changes.
function(lunadb_embed_migrations target dir)
  file(GLOB revision_files CONFIGURE_DEPENDS ${dir}/*.rev)
  set(out ${CMAKE_BINARY_DIR}/generated/embedded_migrations.cpp)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DDIR=${dir} -DOUT=${out} -P ${CMAKE_SOURCE_DIR}/cmake/GenerateEmbeddedMigrations.cmake
    DEPENDS ${revision_files} ${CMAKE_SOURCE_DIR}/cmake/GenerateEmbeddedMigrations.cmake
    COMMENT "Embedding migration revisions")
  target_sources(${target} PRIVATE ${out})
endfunction()
