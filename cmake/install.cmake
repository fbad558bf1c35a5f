# What `cmake --install` puts where (docs/install.md), relative to the prefix:
#   bin/execrec                          runtime
#   share/man/man1/execrec.1(.gz)        runtime   generated from --help (gen_docs.sh)
#   lib/systemd/system/*.service,.timer  runtime   deploy/systemd, paths of this prefix
#   /etc/execrec/execrec.properties      runtime   generated sample (prefix/etc unless
#                                                  the prefix is /usr, as GNU does)
#   share/doc/execrec/                   runtime   the sample again, pristine
#   include/execrec/*.h, lib/libexecrec.a, lib/pkgconfig/execrec.pc   dev
# Components: "runtime" and "dev" (the two Debian packages of cmake/package.cmake).
# Included from CMakeLists.txt after execrec_core's dependencies are linked: execrec.pc
# is derived from them.
include(GNUInstallDirs)
set(CMAKE_INSTALL_DEFAULT_COMPONENT_NAME runtime)

# --- The man page and the sample configuration, from the binary's --help ---------
set(EXECREC_DOC_DIR ${CMAKE_BINARY_DIR}/doc)
set(EXECREC_MAN ${EXECREC_DOC_DIR}/execrec.1)
set(EXECREC_SAMPLE ${EXECREC_DOC_DIR}/execrec.properties)
find_program(EXECREC_GZIP gzip)
set(EXECREC_MAN_INSTALLED ${EXECREC_MAN})
set(EXECREC_GZIP_COMMAND)
if(EXECREC_GZIP)
  # -n: no name or time stamp in the archive, so the package is reproducible.
  set(EXECREC_MAN_INSTALLED ${EXECREC_MAN}.gz)
  set(EXECREC_GZIP_COMMAND COMMAND ${EXECREC_GZIP} -9 -n -f -k ${EXECREC_MAN})
endif()
add_custom_command(OUTPUT ${EXECREC_MAN} ${EXECREC_SAMPLE} ${EXECREC_MAN_INSTALLED}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${EXECREC_DOC_DIR}
  COMMAND bash ${CMAKE_SOURCE_DIR}/cmake/gen_docs.sh $<TARGET_FILE:execrec> ${PROJECT_VERSION}
          ${EXECREC_MAN} ${EXECREC_SAMPLE}
  ${EXECREC_GZIP_COMMAND}
  DEPENDS execrec ${CMAKE_SOURCE_DIR}/cmake/gen_docs.sh
  COMMENT "Generating execrec.1 and execrec.properties from 'execrec --help'"
  VERBATIM)
add_custom_target(execrec_docs ALL DEPENDS ${EXECREC_MAN_INSTALLED} ${EXECREC_SAMPLE})

# --- execrec.pc: Requires = the pkg-config modules execrec_core links -----------
# Every PkgConfig::<X> target linked to execrec_core (pkg_check_modules(<X> ...
# IMPORTED_TARGET module)) becomes a module of Requires, so a dependency added to
# the library is in execrec.pc without an edit here. They are Requires, not
# Requires.private: only the static library is installed, so `pkg-config --libs
# execrec` (without --static) must name them too.
get_target_property(EXECREC_CORE_LINKS execrec_core LINK_LIBRARIES)
set(EXECREC_PC_REQUIRES)
set(EXECREC_PC_LIBS)
foreach(lib IN LISTS EXECREC_CORE_LINKS)
  if(lib MATCHES "^PkgConfig::(.+)$")
    set(module "${${CMAKE_MATCH_1}_MODULE_NAME}")
    if(NOT module)
      message(FATAL_ERROR "execrec.pc: no pkg-config module name for ${lib}")
    endif()
    list(APPEND EXECREC_PC_REQUIRES ${module})
  elseif(lib STREQUAL "Threads::Threads")
    list(APPEND EXECREC_PC_LIBS -pthread)
  elseif(lib MATCHES "^[A-Za-z0-9_+-]+$")
    list(APPEND EXECREC_PC_LIBS -l${lib})
  else()
    message(FATAL_ERROR "execrec.pc: cannot express execrec_core's dependency '${lib}' "
                        "(cmake/install.cmake)")
  endif()
endforeach()
list(JOIN EXECREC_PC_REQUIRES ", " EXECREC_PC_REQUIRES)
list(JOIN EXECREC_PC_LIBS " " EXECREC_PC_LIBS)
# @prefix@ is filled in at install time (below), so that `cmake --install --prefix`
# and the Debian package both get their own.
file(WRITE ${CMAKE_BINARY_DIR}/execrec.pc.in
"prefix=@prefix@
includedir=\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}
libdir=\${prefix}/${CMAKE_INSTALL_LIBDIR}

Name: execrec
Description: execrec publisher and decoder library (include/execrec/*.h)
Version: ${PROJECT_VERSION}
Requires: ${EXECREC_PC_REQUIRES}
Cflags: -I\${includedir}
Libs: -L\${libdir} -lexecrec ${EXECREC_PC_LIBS}
")

# --- Install rules -----------------------------------------------------------------
install(TARGETS execrec RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(FILES ${EXECREC_MAN_INSTALLED} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
        COMPONENT runtime)
install(FILES ${EXECREC_SAMPLE} ${CMAKE_SOURCE_DIR}/docs/install.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
install(TARGETS execrec_core ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/execrec DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT dev FILES_MATCHING PATTERN "*.h")

# Install-time paths: the prefix of `cmake --install --prefix P` (or the package's
# /usr) is known only then. The units of deploy/systemd name /usr/bin/execrec and
# /etc/execrec, the package's paths; they are rewritten for another prefix.
file(GLOB EXECREC_UNITS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/deploy/systemd/*.service
     ${CMAKE_SOURCE_DIR}/deploy/systemd/*.timer)
set(EXECREC_STAGE ${CMAKE_BINARY_DIR}/install-stage)
install(CODE "
  set(prefix \"\${CMAKE_INSTALL_PREFIX}\")
  if(prefix STREQUAL \"/usr\")
    set(etc /etc/execrec)
  else()
    set(etc \"\${prefix}/etc/execrec\")
  endif()
  set(bindir \"${CMAKE_INSTALL_BINDIR}\")
  if(NOT IS_ABSOLUTE \"\${bindir}\")
    set(bindir \"\${prefix}/\${bindir}\")
  endif()
  file(REMOVE_RECURSE \"${EXECREC_STAGE}/runtime\")
  foreach(unit ${EXECREC_UNITS})
    get_filename_component(name \"\${unit}\" NAME)
    file(READ \"\${unit}\" text)
    string(REPLACE \"/usr/bin/execrec\" \"\${bindir}/execrec\" text \"\${text}\")
    string(REPLACE \"/etc/execrec\" \"\${etc}\" text \"\${text}\")
    file(WRITE \"${EXECREC_STAGE}/runtime/\${name}\" \"\${text}\")
  endforeach()
  file(GLOB units \"${EXECREC_STAGE}/runtime/*\")
  file(INSTALL DESTINATION \"\${prefix}/lib/systemd/system\" TYPE FILE FILES \${units})
  file(INSTALL DESTINATION \"\${etc}\" TYPE FILE FILES \"${EXECREC_SAMPLE}\")
" COMPONENT runtime)
install(CODE "
  set(prefix \"\${CMAKE_INSTALL_PREFIX}\")
  file(REMOVE_RECURSE \"${EXECREC_STAGE}/dev\")
  configure_file(\"${CMAKE_BINARY_DIR}/execrec.pc.in\" \"${EXECREC_STAGE}/dev/execrec.pc\" @ONLY)
  file(INSTALL DESTINATION \"\${prefix}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\" TYPE FILE
       FILES \"${EXECREC_STAGE}/dev/execrec.pc\")
" COMPONENT dev)
