# Debian packages with CPack (docs/install.md): from a build configured with
#   cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DEXECREC_TESTS=OFF
#   cmake --build build/release && (cd build/release && cpack -G DEB)
# two packages come out of cmake/install.cmake's components:
#   execrec      the binary, man page, systemd units, /etc/execrec/execrec.properties
#                (a conffile) and the system user execrec (postinst)
#   execrec-dev  headers, libexecrec.a and execrec.pc
# execrec's Depends are the shared libraries the binary links (dpkg-shlibdeps) and
# adduser; execrec-dev's are the -dev packages holding the pkg-config modules that
# execrec.pc requires (found with dpkg -S, so a module added to execrec_core is
# followed).
set(CPACK_PACKAGE_NAME execrec)
set(CPACK_PACKAGE_VENDOR "execrec")
set(CPACK_PACKAGE_CONTACT "execrec maintainers <execrec@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Kafka to PostgreSQL execution recorder, exactly once")
set(CPACK_PACKAGE_DESCRIPTION
    "Records orders, order events, trades and order-manager intents from Kafka
topics into PostgreSQL tables, exactly once: each batch is one transaction
holding its rows and the next offset of every partition.")
# Install as the package will be laid out: prefix /usr, staged under DESTDIR, so
# that install-time paths (units, /etc) are the package's own.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME execrec)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME execrec-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_COMPONENT_DEV_DESCRIPTION "execrec publisher library: headers, static library, pkg-config
The C API of execrec (include/execrec/publish.h): validate records with the
recorder's own normaliser and publish them to Kafka. Link with
pkg-config --cflags --libs execrec.")

# Runtime Depends: the shared libraries of the binary, from dpkg-shlibdeps.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/deploy/debian/postinst ${CMAKE_SOURCE_DIR}/deploy/debian/postrm
    ${CMAKE_SOURCE_DIR}/deploy/debian/conffiles)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# execrec-dev Depends: the -dev package of each module of execrec.pc's Requires.
find_program(EXECREC_DPKG dpkg)
set(EXECREC_DEV_DEPENDS)
if(EXECREC_DPKG)
  string(REPLACE ", " ";" modules "${EXECREC_PC_REQUIRES}")
  foreach(module IN LISTS modules)
    execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --variable=pcfiledir ${module}
                    OUTPUT_VARIABLE dir OUTPUT_STRIP_TRAILING_WHITESPACE)
    get_filename_component(pc "${dir}/${module}.pc" REALPATH)
    execute_process(COMMAND ${EXECREC_DPKG} -S ${pc} OUTPUT_VARIABLE owner
                    RESULT_VARIABLE rc ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(rc EQUAL 0 AND owner MATCHES "^([^:,]+)")
      list(APPEND EXECREC_DEV_DEPENDS ${CMAKE_MATCH_1})
    else()
      message(STATUS "execrec-dev: no Debian package owns ${pc}; not in Depends")
    endif()
  endforeach()
endif()
list(JOIN EXECREC_DEV_DEPENDS ", " EXECREC_DEV_DEPENDS)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${EXECREC_DEV_DEPENDS}")

include(CPack)
