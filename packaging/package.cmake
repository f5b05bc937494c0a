# packaging/package.cmake: what `cmake --install` puts where, and the Debian
# package `cpack -G DEB` makes of the same files (README "Install as a
# package"). Included by CMakeLists.txt after the targets.
include(GNUInstallDirs)

# Directories the install creates: 0755 whatever the umask (Debian policy).
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
    GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

install(TARGETS finch-onboard finch-mock RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The manual pages, the Debian changelog and the README (the units' comments
# point to it), gzipped as Debian policy asks of documentation over 4 KiB;
# -n keeps name and time out of the header, so the bytes are reproducible.
set(FINCH_GZ_DIR ${CMAKE_BINARY_DIR}/gz)
set(FINCH_GZ_FILES)
foreach(pair "src/finch-onboard.1=finch-onboard.1" "src/finch-mock.1=finch-mock.1"
        "packaging/debian/changelog=changelog.Debian" "README.md=README.md")
  string(REPLACE "=" ";" pair "${pair}")
  list(GET pair 0 src)
  list(GET pair 1 name)
  add_custom_command(
    OUTPUT ${FINCH_GZ_DIR}/${name}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${FINCH_GZ_DIR}
    COMMAND sh -c "gzip -9n -c \"$1\" >\"$2\"" sh ${CMAKE_SOURCE_DIR}/${src}
            ${FINCH_GZ_DIR}/${name}.gz
    DEPENDS ${CMAKE_SOURCE_DIR}/${src}
    VERBATIM)
  list(APPEND FINCH_GZ_FILES ${FINCH_GZ_DIR}/${name}.gz)
endforeach()
add_custom_target(finch-gz ALL DEPENDS ${FINCH_GZ_FILES})
install(FILES ${FINCH_GZ_DIR}/finch-onboard.1.gz ${FINCH_GZ_DIR}/finch-mock.1.gz
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${FINCH_GZ_DIR}/changelog.Debian.gz ${FINCH_GZ_DIR}/README.md.gz
        packaging/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES packaging/systemd/finch-onboard-sync.conf
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
# lintian's overrides, each with its reason (packaging/debian/lintian-overrides)
install(FILES packaging/debian/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
        RENAME finch-onboard)

# Completions: bash-completion loads a command's file by its name, so
# finch-mock is a link to the one file that serves both.
set(FINCH_BASH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES packaging/completion/finch-onboard.bash DESTINATION ${FINCH_BASH_COMPLETION_DIR}
        RENAME finch-onboard)
install(CODE "file(CREATE_LINK finch-onboard
  \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${FINCH_BASH_COMPLETION_DIR}/finch-mock\" SYMBOLIC)")
# zsh reads a package's completions from /usr/share/zsh/vendor-completions
# (Debian) and a local install's from PREFIX/share/zsh/site-functions.
install(CODE "
  if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
    set(zshdir \"/usr/${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions\")
  else()
    set(zshdir \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/zsh/site-functions\")
  endif()
  file(INSTALL \"${CMAKE_SOURCE_DIR}/packaging/completion/_finch-onboard\" DESTINATION \"\${zshdir}\"
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)")

# The systemd units. ExecStart names the installed binary, so the path is
# written at install time: /usr/bin in the package, /usr/local/bin from a
# plain `cmake --install`. Under /usr they go where this system's systemd
# package puts units (pkg-config systemd), else under the prefix.
find_package(PkgConfig QUIET)
set(FINCH_SYSTEMD_SYSTEM_DIR /lib/systemd/system)
if(PKG_CONFIG_FOUND)
  pkg_get_variable(finch_unitdir systemd systemdsystemunitdir)
  if(finch_unitdir)
    set(FINCH_SYSTEMD_SYSTEM_DIR ${finch_unitdir})
  endif()
endif()
install(CODE "
  set(bindir \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
  if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
    set(unitdir \"${FINCH_SYSTEMD_SYSTEM_DIR}\")
  else()
    set(unitdir \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
  endif()
  foreach(unit finch-onboard-sync@.service finch-onboard-sync@.timer)
    file(READ \"${CMAKE_SOURCE_DIR}/packaging/systemd/\${unit}\" text)
    string(REPLACE \"/usr/bin/finch-onboard \" \"\${bindir}/finch-onboard \" text \"\${text}\")
    file(WRITE \"${CMAKE_BINARY_DIR}/systemd/\${unit}\" \"\${text}\")
    file(INSTALL \"${CMAKE_BINARY_DIR}/systemd/\${unit}\" DESTINATION \"\${unitdir}\"
         PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endforeach()")

# --- the Debian package: cpack -G DEB (see README for why not debian/) ------
set(FINCH_PACKAGE_MAINTAINER "finch-onboard maintainers <maintainers@finch-onboard.example.org>"
    CACHE STRING "the package's Maintainer field")
set(CPACK_GENERATOR DEB)
set(CPACK_SOURCE_GENERATOR "")
set(CPACK_PACKAGE_NAME finch-onboard)
set(CPACK_PACKAGE_VENDOR "finch-onboard maintainers")
set(CPACK_PACKAGE_CONTACT "${FINCH_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "batch creation of Finch Connect sessions, nightly")
# Debian wraps nothing: the lines are cut at 80 columns here.
set(CPACK_PACKAGE_DESCRIPTION "finch-onboard creates Finch Connect sessions for thousands of employers
from a CSV file: it validates every row, sends the requests concurrently
under Finch's rate limits, retries what is worth retrying, and records every
outcome in an SQLite database, from which it exports the links as CSV or
JSON Lines.

The package ships a systemd service and timer pair,
finch-onboard-sync@.service and .timer, to run one sync per job every night
in a sandbox, and finch-mock, a local emulator of the API, to rehearse a
batch.")
# The package revision (the -1 of 0.1.0-1): packaging/debian/changelog's
# first entry must name the same version (lintian checks it).
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: from dpkg-shlibdeps, i.e. the libraries the binaries really link.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Maintainer scripts, written by hand as dh_installsystemd would write them
# (cpack has no debhelper): daemon-reload on install and upgrade, every
# job's timer stopped and disabled on removal, the configuration (not the
# databases) removed on purge. Each says what it does and why.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_SOURCE_DIR}/packaging/debian/postinst;${CMAKE_SOURCE_DIR}/packaging/debian/prerm;${CMAKE_SOURCE_DIR}/packaging/debian/postrm")
# Installed with DESTDIR under the final prefix, so the units name /usr/bin.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/package)
include(CPack)
