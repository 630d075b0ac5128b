# Debian packages, built by CPack from this build tree (scripts/package.sh runs it):
#   postgresql-<major>-pgcqrs  the extension: pgcqrs.so, pgcqrs.control and the SQL script, in
#                              the directories pg_config names (the top CMakeLists.txt)
#   pgcqrs-sidecar             pgcqrs-sidecar and pgcqrs-query in /usr/bin, the systemd unit, its
#                              environment file /etc/default/pgcqrs-sidecar, the Prometheus
#                              alert rules and the Grafana dashboard
# Library dependencies come from dpkg-shlibdeps.
execute_process(COMMAND ${PG_CONFIG} --version OUTPUT_VARIABLE PG_VERSION_STRING
                OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REGEX MATCH "^PostgreSQL ([0-9]+)" _pg_version_match "${PG_VERSION_STRING}")
if(NOT _pg_version_match)
  message(FATAL_ERROR "cannot read PostgreSQL's major version from \"${PG_VERSION_STRING}\" (${PG_CONFIG} --version)")
endif()
set(PG_MAJOR ${CMAKE_MATCH_1})

set(PGCQRS_DEB_MAINTAINER "pgcqrs maintainers <pgcqrs@localhost>" CACHE STRING
    "Maintainer field of the Debian packages")

if(PGCQRS_BUILD_SIDECAR)
  # The unit names /usr/bin/pgcqrs-sidecar: the packages install under /usr.
  install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/deploy/systemd/pgcqrs-sidecar.service
          DESTINATION lib/systemd/system COMPONENT sidecar)
  install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/deploy/debian/pgcqrs-sidecar.default
          DESTINATION /etc/default RENAME pgcqrs-sidecar COMPONENT sidecar)
  install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/deploy/monitoring/pgcqrs-alerts.yml
                ${CMAKE_CURRENT_SOURCE_DIR}/deploy/monitoring/pgcqrs-dashboard.json
          DESTINATION share/pgcqrs-sidecar/monitoring COMPONENT sidecar)
  install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/docs/operations.md ${CMAKE_CURRENT_SOURCE_DIR}/docs/sidecar.md
                ${CMAKE_CURRENT_SOURCE_DIR}/docs/security.md
          DESTINATION share/doc/pgcqrs-sidecar COMPONENT sidecar)
  # dpkg keeps an administrator's edits of a conffile across upgrades.
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/deb-sidecar/conffiles "/etc/default/pgcqrs-sidecar\n")
  foreach(script postinst prerm postrm)
    configure_file(deploy/debian/${script} ${CMAKE_CURRENT_BINARY_DIR}/deb-sidecar/${script} COPYONLY)
  endforeach()
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pgcqrs)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)   # with CPACK_SET_DESTDIR, the prefix inside the package
# The extension's directories are absolute (pg_config's), like /etc/default: install through
# DESTDIR so that they land inside the package.
set(CPACK_SET_DESTDIR ON)
set(CPACK_OUTPUT_FILE_PREFIX ${CMAKE_BINARY_DIR}/packages)
set(CPACK_PACKAGE_CONTACT "${PGCQRS_DEB_MAINTAINER}")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL extension)
if(PGCQRS_BUILD_SIDECAR)
  list(APPEND CPACK_COMPONENTS_ALL sidecar)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_EXTENSION_PACKAGE_NAME postgresql-${PG_MAJOR}-pgcqrs)
set(CPACK_DEBIAN_EXTENSION_PACKAGE_DEPENDS postgresql-${PG_MAJOR})
set(CPACK_COMPONENT_EXTENSION_DESCRIPTION
    "CQRS order model and logical decoding plugin for PostgreSQL ${PG_MAJOR}\nThe pgcqrs extension: a normalized order write model with its business rules, and the\npgcqrs output plugin that turns its committed changes into domain events.")

set(CPACK_DEBIAN_SIDECAR_PACKAGE_NAME pgcqrs-sidecar)
set(CPACK_DEBIAN_SIDECAR_PACKAGE_SECTION database)
set(CPACK_DEBIAN_SIDECAR_PACKAGE_CONTROL_EXTRA
    "${CMAKE_CURRENT_BINARY_DIR}/deb-sidecar/postinst;${CMAKE_CURRENT_BINARY_DIR}/deb-sidecar/prerm;${CMAKE_CURRENT_BINARY_DIR}/deb-sidecar/postrm;${CMAKE_CURRENT_BINARY_DIR}/deb-sidecar/conffiles")
set(CPACK_COMPONENT_SIDECAR_DESCRIPTION
    "pgcqrs sidecar: PostgreSQL order events into Redis read models\npgcqrs-sidecar follows the pgcqrs replication slot and keeps Redis read models in step\nwith the write model, exactly once; pgcqrs-query reads them. With a systemd unit, its\nenvironment file, Prometheus alert rules and a Grafana dashboard.")

include(CPack)
