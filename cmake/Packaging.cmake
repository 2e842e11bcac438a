# Packaging.cmake: the files an operator installs beside the programs (systemd
# units, environment files, examples, docs, the status page) and the Debian
# package that `cpack -G DEB` builds in the build folder.
#
# The package installs into /usr: the programs in /usr/bin, migrations, their
# runner, the nginx files and the examples in /usr/share/social-post, the units
# in /lib/systemd/system, the environment files in /etc/social-post
# (conffiles: dpkg keeps an operator's edits on upgrade). Its dependencies on
# the runtime libraries come from dpkg-shlibdeps (package dpkg-dev); only what
# that cannot see is written here.

# ---------------------------------------------------------------- install rules

# Units and environment files live outside the prefix; where exactly depends
# on the prefix at install time (see InstallSystemFiles.cmake).
install(CODE "set(SP_DEPLOY_SOURCE \"${CMAKE_SOURCE_DIR}/deploy\")
set(SP_DEPLOY_STAGING \"${CMAKE_BINARY_DIR}/deploy-staging\")
file(MAKE_DIRECTORY \"${CMAKE_BINARY_DIR}/deploy-staging\")")
install(SCRIPT ${CMAKE_SOURCE_DIR}/cmake/InstallSystemFiles.cmake)

install(FILES README.md docs/DEPLOY.md docs/ARCHITECTURE.md docs/openapi.yaml
              deploy/debian/copyright
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/social-post)

# The package's changelog, as Debian wants it: gzip -9n, no time stamp.
configure_file(deploy/debian/changelog.in ${CMAKE_BINARY_DIR}/package-control/changelog @ONLY)
install(CODE "execute_process(
    COMMAND gzip -9nc \"${CMAKE_BINARY_DIR}/package-control/changelog\"
    OUTPUT_FILE \"${CMAKE_BINARY_DIR}/package-control/changelog.gz\"
    RESULT_VARIABLE sp_gzip)
if(NOT sp_gzip EQUAL 0)
    message(FATAL_ERROR \"gzip of the changelog failed\")
endif()")
install(FILES ${CMAKE_BINARY_DIR}/package-control/changelog.gz
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/social-post)

# ---------------------------------------------------------------- the Debian package

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME social-post)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR social-post)
set(CPACK_PACKAGE_CONTACT "social-post maintainers <social-post@example.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "post videos to YouTube, Facebook, Instagram and TikTok in the background")
set(CPACK_PACKAGE_DESCRIPTION "\
Two FastCGI programs behind nginx accept post jobs and report their status;
a worker posts each job's video to YouTube, Facebook, Instagram and TikTok from a
Postgres (or Supabase) queue, retrying and resuming each platform on its own.
Includes systemd units, the database migrations and the nginx snippet.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# libfcgi, libpq, libcurl, libcjson, OpenSSL's libcrypto, libc: from the binaries.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# What the binaries do not show: libcurl verifies the platforms' certificates
# against the system's CA bundle.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "ca-certificates")
# nginx serves the API; psql runs the migrations (from this host or another).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "nginx | nginx-light | nginx-full | nginx-extras, postgresql-client")
# postgresql for a database on this host; spawn-fcgi and cron for hosts
# without systemd (docs/DEPLOY.md, "Without systemd").
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql, spawn-fcgi, cron")

set(SP_CONFFILES "${CMAKE_BINARY_DIR}/package-control/conffiles")
file(WRITE ${SP_CONFFILES}
     "/etc/social-post/social-post.env\n/etc/social-post/worker.env\n/etc/logrotate.d/social-post\n")
# Maintainer scripts (deploy/debian): system users, folders, modes; stop on
# remove; clean up on purge.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${SP_CONFFILES} ${CMAKE_SOURCE_DIR}/deploy/debian/postinst
    ${CMAKE_SOURCE_DIR}/deploy/debian/prerm ${CMAKE_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "__pycache__")

include(CPack)
